using static TorchSharp.torch;

namespace Tessera.Trainers.Evaluation;

/// <summary>Scores of generated images from the reference classifier's probabilities (N, K).</summary>
public static class SampleMetrics
{
    /// <summary>Fraction of rows whose most likely class is the requested one.</summary>
    public static double ClassAccuracy(Tensor probs_NK, IReadOnlyList<int> requested)
    {
        if (probs_NK.shape[0] != requested.Count) throw new ArgumentException($"{probs_NK.shape[0]} rows for {requested.Count} labels");
        if (requested.Count == 0) throw new ArgumentException("no samples");
        using var predicted = probs_NK.argmax(-1).cpu();
        var p = predicted.data<long>().ToArray();
        int hits = 0;
        for (int i = 0; i < p.Length; i++) if (p[i] == requested[i]) hits++;
        return hits / (double)p.Length;
    }

    /// <summary>
    /// Inception-score analogue exp(E_x[KL(p(y|x) || p(y))]), p(y) the mean over the set: 1 when every sample
    /// looks alike, up to K when each is confidently one class and the classes are balanced.
    /// </summary>
    public static double InceptionScore(Tensor probs_NK)
    {
        using var scope = NewDisposeScope();
        var p_NK = probs_NK.to(float64).clamp_min(1e-12);
        var marginal_1K = p_NK.mean(new long[] { 0 }, keepdim: true);
        var kl_N = (p_NK * (p_NK.log() - marginal_1K.log())).sum(dim: 1);
        return Math.Exp(kl_N.mean().item<double>());
    }
}
