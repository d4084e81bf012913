using Tessera.Collective;
using Tessera.Trainers.Distributed;

namespace Tessera.Stages;

/// <summary>The gRPC ring behind a trainer's <see cref="IGradientReducer"/>: blocks the worker thread until the ring is done.</summary>
public sealed class RingGradientReducer(RingCommunicator ring, CancellationToken cancellationToken) : IGradientReducer
{
    public void AverageInPlace(Memory<float> buffer) =>
        ring.AllReduceAsync(buffer, ReduceOp.Average, cancellationToken).GetAwaiter().GetResult();

    public void BroadcastInPlace(Memory<float> buffer) =>
        ring.BroadcastAsync(buffer, root: 0, cancellationToken).GetAwaiter().GetResult();
}
