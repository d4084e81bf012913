using Tessera.Infra.Data;
using Tessera.Trainers.Data;
using Tessera.Trainers.Distributed;

namespace Tessera.Stages;

/// <summary>Deterministic token batches over cached token shards, ordered by the same sampler as images.</summary>
public sealed class TokenBatchSource(IReadOnlyList<TokenShard> shards, ulong seed, DataParallel? parallel = null, long position = 0) : ITrackedTokenBatchSource
{
    readonly ShardIndex _index = new(shards.Select(s => s.Count).ToList(), seed, parallel, position);

    public TokenBatch Next(int batchSize) => NextTracked(batchSize).Batch;

    public (TokenBatch Batch, SampleId[] Ids) NextTracked(int batchSize)
    {
        var picks = _index.NextBatch(batchSize);
        int length = shards[0].Length;
        var tokens = new int[picks.Length * length];
        var labels = new int[picks.Length];
        for (int i = 0; i < picks.Length; i++)
        {
            var (shard, local) = picks[i];
            Array.Copy(shards[shard].Tokens, local * length, tokens, i * length, length);
            labels[i] = shards[shard].Labels[local];
        }
        return (new TokenBatch(tokens, labels, picks.Length, length), picks.Select(p => new SampleId(p.Shard, p.Local)).ToArray());
    }
}
