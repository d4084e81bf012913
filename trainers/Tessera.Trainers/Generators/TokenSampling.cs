using static TorchSharp.torch;

namespace Tessera.Trainers.Generators;

/// <summary>Logit filtering and sampling shared by every generator; all randomness comes from the caller's generator.</summary>
public static class TokenSampling
{
    /// <summary>Classifier-free guidance: <c>u + s*(c - u)</c>, which equals <c>(1+t)*c - t*u</c> for s = 1+t.</summary>
    public static Tensor Guide(Tensor conditional_BV, Tensor unconditional_BV, double scale) =>
        unconditional_BV + scale * (conditional_BV - unconditional_BV);

    /// <summary>Temperature, then top-k, then top-p on logits (B, V); filtered-out entries become -inf.</summary>
    public static Tensor Filter(Tensor logits_BV, SamplingOptions options)
    {
        var x_BV = logits_BV.to(float32);
        if (options.Temperature != 1) x_BV = x_BV / options.Temperature; // one elementwise op per token saved at T = 1
        long vocab = x_BV.shape[^1];
        if (options.TopK > 0 && options.TopK < vocab)
        {
            var kth_B1 = x_BV.topk(options.TopK, dim: -1).values.narrow(-1, options.TopK - 1, 1);
            x_BV = x_BV.masked_fill(x_BV.lt(kth_B1), double.NegativeInfinity);
        }
        if (options.TopP < 1)
        {
            var (sorted_BV, order_BV) = x_BV.sort(dim: -1, descending: true);
            var cumulative_BV = sorted_BV.softmax(-1).cumsum(-1);
            // Drop a token once the mass before it already reaches p; the most likely token always survives.
            var dropSorted_BV = (cumulative_BV - sorted_BV.softmax(-1)).ge(options.TopP);
            var drop_BV = zeros_like(dropSorted_BV).scatter(-1, order_BV, dropSorted_BV);
            x_BV = x_BV.masked_fill(drop_BV, double.NegativeInfinity);
        }
        return x_BV;
    }

    /// <summary>Filters logits (B, V) and draws one token per row with <paramref name="generator"/>: (B) int64.</summary>
    public static Tensor Sample(Tensor logits_BV, SamplingOptions options, Generator generator)
    {
        var probs_BV = Filter(logits_BV, options).softmax(-1);
        return multinomial(probs_BV, 1, replacement: false, generator: generator).squeeze(-1);
    }
}
