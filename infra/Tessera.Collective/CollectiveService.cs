using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Tessera.Collective.Wire;

namespace Tessera.Collective;

/// <summary>
/// The server end of a neighbour stream: checks who is calling (the right neighbour of a local rank), then hands the
/// response stream to that local rank, which writes its frames into it.
/// Map it in any ASP.NET Core host with <c>app.MapGrpcService&lt;CollectiveService&gt;()</c>.
/// </summary>
[BindServiceMethod(typeof(CollectiveService), nameof(BindService))]
public class CollectiveService(CollectiveHub hub, ILogger<CollectiveService> logger)
{
    /// <summary>Binds <see cref="Pull"/> with the pooled-payload marshaller instead of the generated one.</summary>
    public static void BindService(ServiceBinderBase binder, CollectiveService? service) =>
        binder.AddMethod(PooledWire.PullMethod, service is null ? null : service.Pull);

    /// <summary>Upper bound on how long a stream waits for its target rank to join, whatever the caller asks.</summary>
    private static readonly TimeSpan MaxJoinWait = TimeSpan.FromSeconds(60);

    // Virtual because Grpc.AspNetCore binds a handler only to a virtual method declared on the binding type.
    public virtual async Task Pull(Hello request, IServerStreamWriter<Frame> responseStream, ServerCallContext context)
    {
        var headers = context.RequestHeaders;
        string experiment = headers.GetValue(RingCommunicator.ExperimentHeader) ?? "";
        string secret = headers.GetValue(RingCommunicator.SecretHeader) ?? "";
        if (!long.TryParse(headers.GetValue(RingCommunicator.GenerationHeader), out long generation)
            || !int.TryParse(headers.GetValue(RingCommunicator.FromHeader), out int from)
            || !int.TryParse(headers.GetValue(RingCommunicator.ToHeader), out int to)
            || experiment.Length == 0)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "missing ring headers"));
        var wait = long.TryParse(headers.GetValue(RingCommunicator.WaitHeader), out long ms) ? TimeSpan.FromMilliseconds(ms) : MaxJoinWait;
        if (wait > MaxJoinWait) wait = MaxJoinWait;

        var member = await hub.FindAsync(experiment, to, generation, wait, context.CancellationToken);
        if (member is null)
            throw new RpcException(new Status(StatusCode.NotFound, $"rank {to} of experiment {experiment} has not joined"));
        var group = member.Group;
        if (!SecretsEqual(secret, group.Secret))
        {
            // Never log the secret itself, neither the expected nor the offered one.
            logger.LogWarning("Refused a ring stream from {Peer} claiming rank {From} of experiment {Experiment} generation {Generation}: wrong secret",
                context.Peer, from, experiment, generation);
            throw new RpcException(new Status(StatusCode.PermissionDenied, "wrong secret for this experiment"));
        }
        if (generation != group.Generation)
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"generation {generation} is not the current one ({group.Generation})"));
        if (from != group.Right)
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"rank {from} is not the right neighbour of rank {to}"));
        await member.RunOutboundAsync(responseStream, context);
    }

    private static bool SecretsEqual(string offered, string expected) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(offered)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
}
