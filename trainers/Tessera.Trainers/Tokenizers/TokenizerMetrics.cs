using static TorchSharp.torch;

namespace Tessera.Trainers.Tokenizers;

/// <summary>Reconstruction and codebook metrics, in plain numbers so they can be checked by hand.</summary>
public static class TokenizerMetrics
{
    /// <summary>MSE floor: a perfect reconstruction scores 100 dB instead of infinity.</summary>
    public const double MinMse = 1e-10;

    /// <summary>PSNR in dB of one mean squared error, for pixel values with the given peak (1 for [0, 1]).</summary>
    public static double Psnr(double mse, double peak = 1.0)
    {
        if (mse < 0 || double.IsNaN(mse)) throw new ArgumentOutOfRangeException(nameof(mse), mse, "MSE must be >= 0");
        return 10.0 * Math.Log10(peak * peak / Math.Max(mse, MinMse));
    }

    /// <summary>Mean of per-image PSNR: the convention of LlamaGen's reconstruction evaluation.</summary>
    public static double MeanPsnr(IReadOnlyCollection<double> perImageMse, double peak = 1.0)
    {
        if (perImageMse.Count == 0) throw new ArgumentException("no images", nameof(perImageMse));
        return perImageMse.Average(m => Psnr(m, peak));
    }

    /// <summary>Per-image MSE of two image tensors (N, ...) with the same shape.</summary>
    public static double[] PerImageMse(Tensor reconstruction, Tensor target)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var n = target.shape[0];
        var perImage = (reconstruction.to(float64) - target.to(float64)).square().reshape(n, -1).mean(new long[] { 1 });
        return perImage.cpu().data<double>().ToArray();
    }

    /// <summary>How often each of <paramref name="codebookSize"/> codes occurs among <paramref name="indices"/>.</summary>
    public static long[] CodeCounts(IEnumerable<long> indices, int codebookSize)
    {
        var counts = new long[codebookSize];
        foreach (var i in indices)
        {
            if (i < 0 || i >= codebookSize) throw new ArgumentOutOfRangeException(nameof(indices), i, $"code outside [0, {codebookSize})");
            counts[i]++;
        }
        return counts;
    }

    /// <summary>Fraction of codes with a non-zero count.</summary>
    public static double CodebookUsage(IReadOnlyCollection<long> counts)
    {
        if (counts.Count == 0) throw new ArgumentException("empty codebook", nameof(counts));
        return counts.Count(c => c > 0) / (double)counts.Count;
    }

    /// <summary>exp(entropy) of the code distribution (natural log): K for uniform use of K codes, 1 for one code.</summary>
    public static double Perplexity(IReadOnlyCollection<long> counts)
    {
        double total = counts.Sum();
        if (total <= 0) throw new ArgumentException("no code occurrences", nameof(counts));
        double entropy = 0;
        foreach (var c in counts)
        {
            if (c <= 0) continue;
            double p = c / total;
            entropy -= p * Math.Log(p);
        }
        return Math.Exp(entropy);
    }
}
