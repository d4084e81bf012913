using static TorchSharp.torch;

namespace Tessera.Trainers.Generators;

/// <summary>
/// Generation from a <see cref="VarGenerator"/>: K forward passes, one per scale, each sampling all of that
/// scale's tokens at once. Guidance ramps linearly across scales, as in VAR's sampler (logits = (1+t)*c - t*u
/// with t growing with the scale index), but with <c>CfgScale</c> meaning what it means for the GPT, so one
/// `cfg` setting compares both: the scale at level k of K is <c>1 + (cfg-1)*k/(K-1)</c>, from purely
/// conditional at the first scale to <c>cfg</c> at the last; <c>cfg = 1</c> is conditional sampling. The cached path
/// runs each scale's positions once, attending to the coarser scales' keys and values in a <see cref="KvCache"/>;
/// the uncached path re-runs the whole prefix every pass and exists to check the cache.
/// </summary>
public static class VarSampler
{
    /// <summary>Token ids (B, L) int64, all scales concatenated coarse to fine.</summary>
    public static Tensor Generate(VarGenerator model, IScaleInputs inputs, IReadOnlyList<int> classes, SamplingOptions options, Generator generator,
        bool useCache = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputs);
        options.Validate();
        if (!inputs.Scales.SequenceEqual(model.Config.Scales))
            throw new ArgumentException($"scale inputs are for scales {string.Join(",", inputs.Scales)}, the model for {string.Join(",", model.Config.Scales)}");
        int b = classes.Count, k = model.Config.Scales.Length;
        var device = model.parameters().First().device;
        bool guided = options.CfgScale is not null;
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            using var outer = NewDisposeScope();
            var rowClasses = guided ? classes.Concat(Enumerable.Repeat(model.NullClass, b)) : classes;
            var classes_R = tensor(rowClasses.Select(c => (long)c).ToArray(), device: device);
            var tokens_BL = zeros(new long[] { b, 0 }, dtype: int64, device: device);
            var inputs_BPC = zeros(new long[] { b, 0, model.Config.InputDim }, device: device); // uncached path: every scale so far
            Tensor? next_BSC = null;                                                              // cached path: the next scale only
            using var cache = useCache ? model.NewCache(classes_R.shape[0]) : null;
            var condition = model.Condition(classes_R); // the class alone decides the adaptive norms: once, not per scale
            int start = 0;
            for (int level = 0; level < k; level++)
            {
                using var step = NewDisposeScope();
                int count = model.Config.Scales[level] * model.Config.Scales[level];
                var logits_RSV = cache is not null
                    ? model.ForwardScale(condition, next_BSC is null ? null : Rows(next_BSC, guided), cache)
                    : model.Forward(classes_R, Rows(inputs_BPC, guided)).narrow(1, start, count); // this scale's positions
                var logits_BSV = logits_RSV.narrow(0, 0, b);
                if (guided)
                {
                    double cfg = options.CfgScale!.Value;
                    double scale = k > 1 ? 1 + (cfg - 1) * level / (k - 1) : cfg;
                    logits_BSV = TokenSampling.Guide(logits_BSV, logits_RSV.narrow(0, b, b), scale);
                }
                long v = logits_BSV.shape[2];
                var next_BS = TokenSampling.Sample(logits_BSV.reshape(b * count, v), options, generator).reshape(b, count);
                tokens_BL = cat(new[] { tokens_BL, next_BS }, 1).MoveToOuterDisposeScope();
                if (level + 1 < k)
                {
                    next_BSC?.Dispose();
                    next_BSC = inputs.NextScaleInput(tokens_BL).to(device).MoveToOuterDisposeScope();
                    if (cache is null) inputs_BPC = cat(new[] { inputs_BPC, next_BSC }, 1).MoveToOuterDisposeScope();
                }
                start += count;
            }
            return tokens_BL.MoveToOuterDisposeScope();
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>Both halves of a guided batch see the same inputs: repeat along the batch dimension.</summary>
    private static Tensor Rows(Tensor x, bool guided) => guided ? cat(new[] { x, x }, 0) : x;
}
