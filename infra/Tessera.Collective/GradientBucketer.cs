using System.Buffers;

namespace Tessera.Collective;

/// <summary>
/// All-reduces many gradient buffers with few operations: consecutive small buffers are packed into one flat
/// bucket of at most <see cref="BucketBytes"/> and travel together; a buffer at least that large goes alone, in place.
/// Bucket boundaries depend only on the buffer lengths, so all ranks (same model) cut them identically.
/// One bucketer per communicator; not for concurrent use.
/// </summary>
public sealed class GradientBucketer : IDisposable
{
    private readonly RingCommunicator _ring;
    private float[]? _bucket;

    public GradientBucketer(RingCommunicator ring, int bucketBytes = 25 * 1024 * 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketBytes, sizeof(float));
        _ring = ring;
        BucketBytes = bucketBytes;
    }

    public int BucketBytes { get; }

    public async Task AllReduceAsync(IReadOnlyList<Memory<float>> buffers, ReduceOp op = ReduceOp.Sum, CancellationToken cancellationToken = default)
    {
        int capacity = BucketBytes / sizeof(float);
        // Rented once and kept: the same model gives the same buckets every step.
        _bucket ??= ArrayPool<float>.Shared.Rent(capacity);
        int first = 0, used = 0;
        for (int i = 0; i < buffers.Count; i++)
        {
            int length = buffers[i].Length;
            if (length >= capacity)
            {
                await FlushAsync(buffers, first, i, used, op, cancellationToken);
                await _ring.AllReduceAsync(buffers[i], op, cancellationToken);
                first = i + 1; used = 0;
                continue;
            }
            if (used + length > capacity)
            {
                await FlushAsync(buffers, first, i, used, op, cancellationToken);
                first = i; used = 0;
            }
            used += length;
        }
        await FlushAsync(buffers, first, buffers.Count, used, op, cancellationToken);
    }

    private async Task FlushAsync(IReadOnlyList<Memory<float>> buffers, int from, int to, int used, ReduceOp op, CancellationToken cancellationToken)
    {
        if (from >= to) return;
        var bucket = _bucket!.AsMemory(0, used);
        int offset = 0;
        for (int i = from; i < to; i++) { buffers[i].Span.CopyTo(bucket.Span[offset..]); offset += buffers[i].Length; }
        await _ring.AllReduceAsync(bucket, op, cancellationToken);
        offset = 0;
        for (int i = from; i < to; i++) { bucket.Span.Slice(offset, buffers[i].Length).CopyTo(buffers[i].Span); offset += buffers[i].Length; }
    }

    public void Dispose()
    {
        if (_bucket is not null) ArrayPool<float>.Shared.Return(_bucket);
        _bucket = null;
    }
}
