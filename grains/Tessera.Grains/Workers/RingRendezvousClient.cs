using System.Diagnostics;
using Tessera.Collective;

namespace Tessera.Grains.Workers;

/// <summary>
/// A rank's side of forming a ring: register this silo's endpoint with the experiment grain, poll until every rank
/// of the same generation has, then join the gRPC ring. Runs on the worker thread, which may block.
/// </summary>
public static class RingRendezvousClient
{
    static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    public static RingCommunicator Join(IExperimentGrain experiment, TrainerAssignment assignment, string stageName, DataPlane dataPlane,
        TimeSpan timeout, CancellationToken ct)
    {
        Uri endpoint = dataPlane.Endpoint ?? throw new InvalidOperationException(
            $"stage '{stageName}' asks for {assignment.WorldSize} workers, but this silo serves no collective (gRPC) endpoint");
        var clock = Stopwatch.StartNew();
        RingMembership ring;
        while (true)
        {
            ring = experiment.JoinRing(assignment.StageIndex, assignment.Generation, assignment.Rank, endpoint.ToString()).GetAwaiter().GetResult();
            if (ring.IsComplete) break;
            if (clock.Elapsed >= timeout)
                throw new TimeoutException($"stage '{stageName}': rank(s) {string.Join(", ", ring.MissingRanks)} of {assignment.WorldSize} did not " +
                    $"register within {timeout.TotalSeconds:0} s (peer_timeout_seconds), so the ring could not form");
            if (ct.WaitHandle.WaitOne(PollInterval)) ct.ThrowIfCancellationRequested();
        }
        var group = new RingGroup(assignment.ExperimentId, assignment.Rank, assignment.WorldSize, ring.Peers.Select(p => new Uri(p)).ToList(),
            ring.Secret, ring.Generation) { Timeout = timeout };
        return dataPlane.Hub.JoinAsync(group, cancellationToken: ct).GetAwaiter().GetResult();
    }
}
