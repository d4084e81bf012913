namespace Tessera.Trainers.Distributed;

/// <summary>
/// The data plane as the training loop sees it: in-place collective operations on one flat fp32 buffer.
/// The gRPC ring implements it in the host (the trainers know nothing of the network); every rank must call
/// the same operations in the same order. Calls block the worker thread until the ring is done.
/// </summary>
public interface IGradientReducer
{
    /// <summary>Replaces every element with its mean over the ranks.</summary>
    void AverageInPlace(Memory<float> buffer);

    /// <summary>Replaces the buffer with rank 0's.</summary>
    void BroadcastInPlace(Memory<float> buffer);
}
