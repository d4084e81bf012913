using static TorchSharp.torch;

namespace Tessera.Trainers.Evaluation;

/// <summary>
/// Fréchet distance between Gaussians fitted to two feature sets (FID's formula, here on the reference
/// classifier's features): |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)). Either set may carry row weights
/// (<see cref="ClassBalance.Weights"/>), so a class-imbalanced set can be compared as if balanced.
/// </summary>
public static class FrechetDistance
{
    /// <summary>Distance between feature sets (N1, F) and (N2, F), every row weighing alike; computed in float64 on the CPU.</summary>
    public static double Compute(Tensor features1_NF, Tensor features2_NF) => Compute(features1_NF, null, features2_NF, null);

    /// <summary>
    /// Distance between feature sets (N1, F) and (N2, F) whose rows weigh <paramref name="weights1"/> and
    /// <paramref name="weights2"/> (null: alike) in the means and covariances; computed in float64 on the CPU.
    /// </summary>
    public static double Compute(Tensor features1_NF, IReadOnlyList<double>? weights1, Tensor features2_NF, IReadOnlyList<double>? weights2)
    {
        if (features1_NF.dim() != 2 || features2_NF.dim() != 2 || features1_NF.shape[1] != features2_NF.shape[1])
            throw new ArgumentException("expected two (N, F) feature sets with the same F");
        if (features1_NF.shape[0] < 2 || features2_NF.shape[0] < 2) throw new ArgumentException("need at least two rows per set");
        using var scope = NewDisposeScope();
        var (mu1_F, s1_FF) = Moments(features1_NF, weights1);
        var (mu2_F, s2_FF) = Moments(features2_NF, weights2);
        // tr((S1 S2)^(1/2)) = tr((S1^(1/2) S2 S1^(1/2))^(1/2)): the product inside is symmetric PSD, so both
        // square roots come from symmetric eigendecompositions (stable, unlike a general sqrtm of S1 S2).
        var root1_FF = SqrtPsd(s1_FF);
        var inner_FF = root1_FF.matmul(s2_FF).matmul(root1_FF);
        inner_FF = (inner_FF + inner_FF.T) / 2; // remove rounding asymmetry before eigh
        var traceRoot = linalg.eigvalsh(inner_FF).clamp_min(0).sqrt().sum().item<double>();
        var meanTerm = (mu1_F - mu2_F).square().sum().item<double>();
        double d = meanTerm + s1_FF.trace().item<double>() + s2_FF.trace().item<double>() - 2 * traceRoot;
        return Math.Max(0, d);
    }

    /// <summary>
    /// Weighted mean (F) and covariance (F, F), float64. The covariance divides by V1 - V2/V1 (V1 = sum of weights,
    /// V2 = sum of squared weights), the unbiased estimator for reliability weights: N - 1 when all weights are 1.
    /// </summary>
    private static (Tensor Mean_F, Tensor Cov_FF) Moments(Tensor x_NF, IReadOnlyList<double>? weights)
    {
        var x = x_NF.to(float64).cpu();
        long n = x.shape[0];
        if (weights is not null && weights.Count != n) throw new ArgumentException($"{weights.Count} weights for {n} rows");
        if (weights is not null && weights.Any(w => !(w >= 0) || double.IsInfinity(w))) throw new ArgumentException("weights must be finite and >= 0");
        var w_N = tensor(weights?.ToArray() ?? Enumerable.Repeat(1.0, (int)n).ToArray(), dtype: float64);
        double v1 = w_N.sum().item<double>(), v2 = w_N.square().sum().item<double>();
        double denominator = v1 - v2 / v1;
        if (!(denominator > 0)) throw new ArgumentException("need at least two rows of positive weight per set");
        var mean_F = (x * w_N.unsqueeze(1)).sum(0, keepdim: false) / v1; // named: a bare sum(0) binds to sum(ScalarType) and sums as bytes
        var centred_NF = x - mean_F;
        return (mean_F, (centred_NF * w_N.unsqueeze(1)).T.matmul(centred_NF) / denominator);
    }

    /// <summary>Square root of a symmetric PSD matrix via eigh; tiny negative eigenvalues from rounding become 0.</summary>
    private static Tensor SqrtPsd(Tensor s_FF)
    {
        var (values_F, vectors_FF) = linalg.eigh(s_FF);
        return (vectors_FF * values_F.clamp_min(0).sqrt().unsqueeze(0)).matmul(vectors_FF.T);
    }
}
