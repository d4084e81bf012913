using Tessera.Infra.Data;
using Tessera.Trainers.Data;
using Tessera.Trainers.Distributed;

namespace Tessera.Stages;

/// <summary>Deterministic training batches of images over a set of cached shards.</summary>
public sealed class ShardBatchSource(IReadOnlyList<ImageShard> shards, ulong seed, DataParallel? parallel = null, long position = 0) : IBatchSource
{
    readonly ShardIndex _index = new(shards.Select(s => s.Count).ToList(), seed, parallel, position);

    public ImageBatch Next(int batchSize)
    {
        var picks = _index.NextBatch(batchSize);
        ImageShard first = shards[0];
        int size = first.PixelsPerImage;
        var pixels = new byte[picks.Length * size];
        var labels = new int[picks.Length];
        for (int i = 0; i < picks.Length; i++)
        {
            var (shard, local) = picks[i];
            Array.Copy(shards[shard].Pixels, local * size, pixels, i * size, size);
            labels[i] = shards[shard].Labels[local];
        }
        return new ImageBatch(pixels, labels, picks.Length, first.Channels, first.Height, first.Width);
    }
}
