using Tessera.Infra.Data;
using static TorchSharp.torch;

namespace Tessera.Trainers.Generators;

/// <summary>Turns a <see cref="TokenBatch"/> into the class (B) and token (B, L) int64 tensors a generator takes, after checking it fits the generator.</summary>
public static class TokenBatchTensors
{
    /// <summary>Throws, naming the mismatch, when the batch's length, arrays or labels do not fit <paramref name="config"/>.</summary>
    public static (Tensor Classes_B, Tensor Tokens_BL) From(TokenBatch batch, GeneratorConfig config, Device device)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(config);
        if (batch.Length != config.SequenceLength)
            throw new ArgumentException($"token batch has sequences of {batch.Length}, the generator expects {config.SequenceLength}");
        if (batch.Tokens.Length != (long)batch.Count * batch.Length || batch.Labels.Length != batch.Count)
            throw new ArgumentException("token batch arrays do not match its count and length");
        foreach (var label in batch.Labels)
            if (label < 0 || label >= config.Classes) throw new ArgumentException($"label {label} is not a class index (0..{config.Classes - 1})");
        var tokens_BL = tensor(batch.Tokens.Select(t => (long)t).ToArray(), new long[] { batch.Count, batch.Length }).to(device);
        var classes_B = tensor(batch.Labels.Select(l => (long)l).ToArray()).to(device);
        return (classes_B, tokens_BL);
    }
}
