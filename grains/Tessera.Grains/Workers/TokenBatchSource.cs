using Tessera.Infra.Data;
using Tessera.Trainers.Data;

namespace Tessera.Grains.Workers;

/// <summary>Deterministic token batches over cached token shards, ordered by the same sampler as images.</summary>
public sealed class TokenBatchSource : ITokenBatchSource
{
    readonly IReadOnlyList<TokenShard> _shards;
    readonly int[] _offsets;
    readonly DeterministicSampler _sampler;
    long _position;

    public TokenBatchSource(IReadOnlyList<TokenShard> shards, ulong seed)
    {
        if (shards.Count == 0) throw new ArgumentException("a token batch source needs at least one shard");
        _shards = shards;
        _offsets = new int[shards.Count];
        int total = 0;
        for (int i = 0; i < shards.Count; i++) { _offsets[i] = total; total += shards[i].Count; }
        _sampler = new DeterministicSampler(total, seed);
    }

    public TokenBatch Next(int batchSize)
    {
        int[] indices = _sampler.Indices(_position, batchSize);
        _position += batchSize;
        int length = _shards[0].Length;
        var tokens = new int[indices.Length * length];
        var labels = new int[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            int shard = Array.BinarySearch(_offsets, indices[i]);
            if (shard < 0) shard = ~shard - 1;
            int local = indices[i] - _offsets[shard];
            Array.Copy(_shards[shard].Tokens, local * length, tokens, i * length, length);
            labels[i] = _shards[shard].Labels[local];
        }
        return new TokenBatch(tokens, labels, indices.Length, length);
    }
}
