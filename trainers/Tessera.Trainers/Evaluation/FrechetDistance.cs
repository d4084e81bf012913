using static TorchSharp.torch;

namespace Tessera.Trainers.Evaluation;

/// <summary>
/// Fréchet distance between Gaussians fitted to two feature sets (FID's formula, here on the digit
/// classifier's features): |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)).
/// </summary>
public static class FrechetDistance
{
    /// <summary>Distance between feature sets (N1, F) and (N2, F); computed in float64 on the CPU.</summary>
    public static double Compute(Tensor features1_NF, Tensor features2_NF)
    {
        if (features1_NF.dim() != 2 || features2_NF.dim() != 2 || features1_NF.shape[1] != features2_NF.shape[1])
            throw new ArgumentException("expected two (N, F) feature sets with the same F");
        if (features1_NF.shape[0] < 2 || features2_NF.shape[0] < 2) throw new ArgumentException("need at least two rows per set");
        using var scope = NewDisposeScope();
        var (mu1_F, s1_FF) = Moments(features1_NF);
        var (mu2_F, s2_FF) = Moments(features2_NF);
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

    /// <summary>Mean (F) and unbiased covariance (F, F), float64.</summary>
    private static (Tensor Mean_F, Tensor Cov_FF) Moments(Tensor x_NF)
    {
        var x = x_NF.to(float64).cpu();
        var mean_F = x.mean(new long[] { 0 });
        var centred_NF = x - mean_F;
        return (mean_F, centred_NF.T.matmul(centred_NF) / (x.shape[0] - 1));
    }

    /// <summary>Square root of a symmetric PSD matrix via eigh; tiny negative eigenvalues from rounding become 0.</summary>
    private static Tensor SqrtPsd(Tensor s_FF)
    {
        var (values_F, vectors_FF) = linalg.eigh(s_FF);
        return (vectors_FF * values_F.clamp_min(0).sqrt().unsqueeze(0)).matmul(vectors_FF.T);
    }
}
