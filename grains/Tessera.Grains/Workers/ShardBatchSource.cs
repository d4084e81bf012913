using Tessera.Infra.Data;
using Tessera.Trainers.Data;

namespace Tessera.Grains.Workers;

/// <summary>
/// Deterministic training batches over a set of cached shards: the sampler orders the concatenated index
/// space by (seed, epoch), and this copies the chosen images into one batch.
/// </summary>
public sealed class ShardBatchSource : IBatchSource
{
    readonly IReadOnlyList<ImageShard> _shards;
    readonly int[] _offsets; // first global index of each shard
    readonly DeterministicSampler _sampler;
    long _position;

    public ShardBatchSource(IReadOnlyList<ImageShard> shards, ulong seed)
    {
        if (shards.Count == 0) throw new ArgumentException("a batch source needs at least one shard");
        _shards = shards;
        _offsets = new int[shards.Count];
        int total = 0;
        for (int i = 0; i < shards.Count; i++) { _offsets[i] = total; total += shards[i].Count; }
        _sampler = new DeterministicSampler(total, seed);
    }

    public ImageBatch Next(int batchSize)
    {
        int[] indices = _sampler.Indices(_position, batchSize);
        _position += batchSize;
        return Gather(indices);
    }

    ImageBatch Gather(int[] indices)
    {
        ImageShard first = _shards[0];
        int size = first.Channels * first.Height * first.Width;
        var pixels = new byte[indices.Length * size];
        var labels = new int[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            int shard = Array.BinarySearch(_offsets, indices[i]);
            if (shard < 0) shard = ~shard - 1;
            int local = indices[i] - _offsets[shard];
            Array.Copy(_shards[shard].Pixels, local * size, pixels, i * size, size);
            labels[i] = _shards[shard].Labels[local];
        }
        return new ImageBatch(pixels, labels, indices.Length, first.Channels, first.Height, first.Width);
    }
}
