using Tessera.Infra.Data;

namespace Tessera.Grains.Workers;

/// <summary>
/// Several shards seen as one index space (shard 0's items first), with the deterministic sampler that orders
/// it: what both image and token batch sources draw from.
/// </summary>
public sealed class ShardIndex
{
    readonly int[] _offsets; // first global index of each shard
    readonly DeterministicSampler _sampler;
    long _position;

    public ShardIndex(IReadOnlyList<int> shardCounts, ulong seed)
    {
        if (shardCounts.Count == 0) throw new ArgumentException("a batch source needs at least one shard");
        _offsets = new int[shardCounts.Count];
        int total = 0;
        for (int i = 0; i < shardCounts.Count; i++) { _offsets[i] = total; total += shardCounts[i]; }
        _sampler = new DeterministicSampler(total, seed);
    }

    /// <summary>The next <paramref name="batchSize"/> items in sampler order, each as (shard, index within the shard).</summary>
    public (int Shard, int Local)[] NextBatch(int batchSize)
    {
        int[] indices = _sampler.Indices(_position, batchSize);
        _position += batchSize;
        return indices.Select(index =>
        {
            int shard = Array.BinarySearch(_offsets, index);
            if (shard < 0) shard = ~shard - 1;
            return (shard, index - _offsets[shard]);
        }).ToArray();
    }
}
