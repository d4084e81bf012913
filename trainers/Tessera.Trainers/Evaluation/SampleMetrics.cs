using static TorchSharp.torch;

namespace Tessera.Trainers.Evaluation;

/// <summary>Class accuracy of a labelled set, kept per class so an imbalanced set shows what each class contributed.</summary>
/// <param name="Counts">Rows per class (index = class).</param>
/// <param name="Correct">Rows per class whose most likely class was theirs.</param>
public sealed record ClassAccuracyReport(int[] Counts, int[] Correct)
{
    /// <summary>Fraction of all rows classified as their class: dominated by the largest classes.</summary>
    public double Overall => Correct.Sum() / (double)Counts.Sum();

    /// <summary>Mean over the classes present of each class's accuracy: every class weighs alike, however many rows it has.</summary>
    public double Balanced => Enumerable.Range(0, Counts.Length).Where(c => Counts[c] > 0).Average(c => Correct[c] / (double)Counts[c]);

    /// <summary>Accuracy of class <paramref name="c"/>, NaN when it has no rows.</summary>
    public double Of(int c) => Counts[c] == 0 ? double.NaN : Correct[c] / (double)Counts[c];
}

/// <summary>Scores of generated images from the reference classifier's probabilities (N, K).</summary>
public static class SampleMetrics
{
    /// <summary>Fraction of rows whose most likely class is the requested one.</summary>
    public static double ClassAccuracy(Tensor probs_NK, IReadOnlyList<int> requested) => ClassAccuracyByClass(probs_NK, requested).Overall;

    /// <summary>Per-class counts and hits of rows whose most likely class is the requested one; classes are the K columns.</summary>
    public static ClassAccuracyReport ClassAccuracyByClass(Tensor probs_NK, IReadOnlyList<int> requested)
    {
        if (probs_NK.dim() != 2) throw new ArgumentException($"expected probabilities (N, K), got ({string.Join(", ", probs_NK.shape)})");
        if (probs_NK.shape[0] != requested.Count) throw new ArgumentException($"{probs_NK.shape[0]} rows for {requested.Count} labels");
        if (requested.Count == 0) throw new ArgumentException("no samples");
        var counts = ClassBalance.Counts(requested, (int)probs_NK.shape[1]);
        using var predicted = probs_NK.argmax(-1).cpu();
        var p = predicted.data<long>().ToArray();
        var correct = new int[counts.Length];
        for (int i = 0; i < p.Length; i++) if (p[i] == requested[i]) correct[requested[i]]++;
        return new ClassAccuracyReport(counts, correct);
    }

    /// <summary>
    /// Inception-score analogue exp(E_x[KL(p(y|x) || p(y))]), p(y) the mean over the set: 1 when every sample
    /// looks alike, up to K when each is confidently one class and the classes are balanced. With
    /// <paramref name="weights"/> (e.g. <see cref="ClassBalance.Weights"/> of the requested classes) both expectations
    /// are weighted, so an imbalanced set can still reach K.
    /// </summary>
    public static double InceptionScore(Tensor probs_NK, IReadOnlyList<double>? weights = null)
    {
        using var scope = NewDisposeScope();
        var p_NK = probs_NK.to(float64).cpu().clamp_min(1e-12);
        long n = p_NK.shape[0];
        if (weights is not null && weights.Count != n) throw new ArgumentException($"{weights.Count} weights for {n} rows");
        var w_N1 = weights is null ? full(n, 1, 1.0 / n, dtype: float64) : tensor(weights.ToArray(), dtype: float64).unsqueeze(1);
        var wSum = w_N1.sum().item<double>();
        if (!(wSum > 0)) throw new ArgumentException("weights must sum to a positive number");
        w_N1 = w_N1 / wSum;
        var marginal_1K = (p_NK * w_N1).sum(0, keepdim: true);
        var kl_N1 = (p_NK * (p_NK.log() - marginal_1K.log())).sum(1, keepdim: true);
        return Math.Exp((kl_N1 * w_N1).sum().item<double>());
    }
}
