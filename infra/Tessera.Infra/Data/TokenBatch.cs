namespace Tessera.Infra.Data;

/// <summary>
/// A batch of tokenized images as generators train on them: <see cref="Count"/> sequences of
/// <see cref="Length"/> token ids each (row-major, all scales concatenated coarse to fine for multi-scale
/// tokenizers), and one class label per sequence.
/// </summary>
public sealed record TokenBatch(int[] Tokens, int[] Labels, int Count, int Length)
{
    public ReadOnlySpan<int> Sequence(int index) => Tokens.AsSpan(index * Length, Length);
}
