using Tessera.Infra.Data;
using Tessera.Trainers.Distributed;

namespace Tessera.Stages;

/// <summary>
/// Several shards seen as one index space (shard 0's items first), with the deterministic sampler that orders
/// it: what both image and token batch sources draw from. With data parallelism every rank draws the same
/// global batch and keeps its own slice, so the ranks together see exactly what one rank would. The position is
/// step x global batch, so a checkpoint's step fixes it.
/// </summary>
public sealed class ShardIndex
{
    readonly int[] _offsets; // first global index of each shard
    readonly DeterministicSampler _sampler;
    long _position;

    readonly DataParallel? _parallel;

    /// <param name="position">Items already drawn (step x global batch): where a resumed stage continues.</param>
    public ShardIndex(IReadOnlyList<int> shardCounts, ulong seed, DataParallel? parallel = null, long position = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        _parallel = parallel;
        _position = position;
        if (shardCounts.Count == 0) throw new ArgumentException("a batch source needs at least one shard");
        _offsets = new int[shardCounts.Count];
        int total = 0;
        for (int i = 0; i < shardCounts.Count; i++) { _offsets[i] = total; total += shardCounts[i]; }
        _sampler = new DeterministicSampler(total, seed);
    }

    /// <summary>
    /// The next global batch of <paramref name="batchSize"/> items in sampler order, each as (shard, index within the
    /// shard): all of it, or this rank's slices (one per virtual rank it runs, in order: see <see cref="DataParallel"/>).
    /// </summary>
    public (int Shard, int Local)[] NextBatch(int batchSize)
    {
        int[] indices = _sampler.Indices(_position, batchSize);
        _position += batchSize;
        if (_parallel is not null)
            indices = _parallel.Slices(batchSize).SelectMany(slice => indices[slice.Start..(slice.Start + slice.Count)]).ToArray();
        return indices.Select(index =>
        {
            int shard = Array.BinarySearch(_offsets, index);
            if (shard < 0) shard = ~shard - 1;
            return (shard, index - _offsets[shard]);
        }).ToArray();
    }
}
