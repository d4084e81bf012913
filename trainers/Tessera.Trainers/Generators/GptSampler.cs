using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers.Generators;

/// <summary>
/// Batched class-conditional generation from a <see cref="GptGenerator"/>: N sequential steps, each one
/// decoding position per row. With guidance the batch is doubled (conditional rows, then null-class rows)
/// and the two halves' logits are combined. The cached path feeds one position per step through a
/// <see cref="KvCache"/>; the uncached path re-runs the whole prefix (O(N^2)) and exists to check the cache.
/// </summary>
public static class GptSampler
{
    /// <summary>Token ids (B, N) int64 on the model's device, one sequence per entry of <paramref name="classes"/>.</summary>
    public static Tensor Generate(GptGenerator model, IReadOnlyList<int> classes, SamplingOptions options, Generator generator, bool useCache = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(classes);
        options.Validate();
        foreach (var c in classes)
            if (c < 0 || c > model.NullClass) throw new ArgumentOutOfRangeException(nameof(classes), c, $"class must be in 0..{model.NullClass}");
        int b = classes.Count, n = model.SequenceLength;
        var device = model.parameters().First().device;
        bool guided = options.CfgScale is not null;
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            using var outer = NewDisposeScope();
            var rowClasses = guided ? classes.Concat(Enumerable.Repeat(model.NullClass, b)) : classes;
            var classes_R = tensor(rowClasses.Select(c => (long)c).ToArray(), device: device); // R = B or 2B rows
            var tokens_BN = zeros(new long[] { b, n }, dtype: int64, device: device);
            using var cache = useCache ? model.NewCache(classes_R.shape[0]) : null;
            Tensor? previous_R = null;
            for (int t = 0; t < n; t++)
            {
                using var step = NewDisposeScope();
                Tensor logits_RV = cache is not null
                    ? model.Step(classes_R, previous_R, cache)
                    : model.Forward(classes_R, Rows(tokens_BN.narrow(1, 0, t), guided)).select(1, t);
                var logits_BV = guided
                    ? TokenSampling.Guide(logits_RV.narrow(0, 0, b), logits_RV.narrow(0, b, b), options.CfgScale!.Value)
                    : logits_RV;
                var next_B = TokenSampling.Sample(logits_BV, options, generator);
                tokens_BN.select(1, t).copy_(next_B);
                previous_R?.Dispose();
                previous_R = Rows(next_B, guided).MoveToOuterDisposeScope();
            }
            return tokens_BN.MoveToOuterDisposeScope();
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>Both halves of a guided batch decode the same tokens: repeat along the batch dimension.</summary>
    private static Tensor Rows(Tensor x, bool guided) => guided ? cat(new[] { x, x }, 0) : x;
}
