using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Tessera.Collective;

/// <summary>
/// N ranks in one process, each with its own Kestrel host on 127.0.0.1 (an ephemeral port) and real gRPC between
/// them: what the tests and `tessera-bench allreduce` run on. Hosts are started by <see cref="StartAsync"/>;
/// joining is left to the caller so it can also leave a rank out.
/// </summary>
public sealed class LoopbackCluster : IAsyncDisposable
{
    private readonly List<WebApplication?> _hosts;

    private LoopbackCluster(List<WebApplication?> hosts, IReadOnlyList<Uri> endpoints)
    {
        _hosts = hosts;
        Endpoints = endpoints;
    }

    public IReadOnlyList<Uri> Endpoints { get; }

    public CollectiveHub Hub(int rank) => (_hosts[rank] ?? throw new InvalidOperationException($"rank {rank} was stopped")).Services.GetRequiredService<CollectiveHub>();

    /// <param name="certificate">Serve and require TLS with this certificate (every rank the same, as every silo of a cluster).</param>
    public static async Task<LoopbackCluster> StartAsync(int ranks, int windowBytes = 16 * 1024 * 1024, Action<ILoggingBuilder>? logging = null,
        X509Certificate2? certificate = null)
    {
        var hosts = new List<WebApplication?>();
        var endpoints = new List<Uri>();
        for (int i = 0; i < ranks; i++)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            logging?.Invoke(builder.Logging);
            builder.WebHost.ConfigureKestrel(k =>
            {
                k.TuneForCollective(windowBytes);
                k.Listen(IPAddress.Loopback, 0, listen =>
                {
                    listen.Protocols = HttpProtocols.Http2;
                    if (certificate is not null) listen.UseHttps(certificate);
                });
            });
            builder.Services.AddTesseraCollective();
            var app = builder.Build();
            app.Services.GetRequiredService<CollectiveHub>().TlsCertificate = certificate;
            app.MapTesseraCollective();
            await app.StartAsync();
            var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
                .Features.Get<IServerAddressesFeature>()!.Addresses.First();
            hosts.Add(app);
            endpoints.Add(new Uri(address.Replace("[::]", "127.0.0.1")));
        }
        return new LoopbackCluster(hosts, endpoints);
    }

    public RingGroup Group(int rank, string experiment, string secret, long generation = 1, TimeSpan? timeout = null) =>
        new(experiment, rank, Endpoints.Count, Endpoints, secret, generation) { Timeout = timeout ?? TimeSpan.FromSeconds(30) };

    /// <summary>Stops one rank's host abruptly (what a crashed silo looks like to its neighbours).</summary>
    public async Task StopAsync(int rank)
    {
        var host = _hosts[rank];
        _hosts[rank] = null;
        if (host is null) return;
        using var now = new CancellationTokenSource(TimeSpan.Zero);
        try { await host.StopAsync(now.Token); } catch (OperationCanceledException) { }
        await host.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        for (int i = 0; i < _hosts.Count; i++) await StopAsync(i);
    }
}
