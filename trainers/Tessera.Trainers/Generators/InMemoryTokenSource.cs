using Tessera.Infra.Data;
using Tessera.Trainers.Data;

namespace Tessera.Trainers.Generators;

/// <summary>
/// Endless batches drawn from a fixed set of tokenized images in <see cref="DeterministicSampler"/> order
/// (each epoch a seeded permutation). <see cref="Position"/> is the resume point a checkpoint can record.
/// </summary>
public sealed class InMemoryTokenSource : ITokenBatchSource
{
    private readonly TokenBatch _all;
    private readonly DeterministicSampler _sampler;

    public InMemoryTokenSource(TokenBatch all, ulong seed, long position = 0)
    {
        ArgumentNullException.ThrowIfNull(all);
        if (all.Count == 0) throw new ArgumentException("no sequences", nameof(all));
        _all = all;
        _sampler = new DeterministicSampler(all.Count, seed);
        Position = position;
    }

    /// <summary>Sequences handed out so far (counting from the start of epoch 0).</summary>
    public long Position { get; private set; }

    public TokenBatch Next(int batchSize)
    {
        var indices = _sampler.Indices(Position, batchSize);
        Position += batchSize;
        int n = _all.Length;
        var tokens = new int[batchSize * n];
        var labels = new int[batchSize];
        for (int i = 0; i < batchSize; i++)
        {
            _all.Sequence(indices[i]).CopyTo(tokens.AsSpan(i * n, n));
            labels[i] = _all.Labels[indices[i]];
        }
        return new TokenBatch(tokens, labels, batchSize, n);
    }
}
