using Tessera.Trainers.Tokenizers;
using static TorchSharp.torch;

namespace Tessera.Tests.Trainers;

[Collection(TorchCollection.Name)]
public class TokenizerMetricsTests
{
    [Theory]
    [InlineData(0.01, 20.0)]
    [InlineData(0.001, 30.0)]
    [InlineData(1.0, 0.0)]
    public void PsnrOfKnownMse(double mse, double expected) =>
        Assert.Equal(expected, TokenizerMetrics.Psnr(mse), 10);

    [Fact]
    public void PsnrOfPerfectReconstructionIsCappedAtOneHundred() =>
        Assert.Equal(100.0, TokenizerMetrics.Psnr(0), 10);

    [Fact]
    public void PsnrWithPeak255() => Assert.Equal(20.0, TokenizerMetrics.Psnr(255.0 * 255.0 / 100, peak: 255), 10);

    [Fact]
    public void MeanPsnrAveragesPerImagePsnrNotMse()
    {
        // 20 dB and 40 dB images: the mean of per-image PSNR is 30 dB; the PSNR of the mean MSE would be ~23 dB.
        Assert.Equal(30.0, TokenizerMetrics.MeanPsnr(new[] { 0.01, 0.0001 }), 10);
        Assert.Equal(10 * Math.Log10(1 / 0.00505), TokenizerMetrics.Psnr((0.01 + 0.0001) / 2), 10);
    }

    [Fact]
    public void PerImageMseOfHandMadeImages()
    {
        using var scope = NewDisposeScope();
        var target = zeros(2, 1, 2, 2);
        var recon = tensor(new float[] { 0.1f, 0.1f, 0.1f, 0.1f, /* second image */ 1f, 0f, 0f, 0f }, new long[] { 2, 1, 2, 2 });
        var mse = TokenizerMetrics.PerImageMse(recon, target);
        Assert.Equal(2, mse.Length);
        Assert.Equal(0.01, mse[0], 6);
        Assert.Equal(0.25, mse[1], 6);
    }

    [Fact]
    public void UsageIsTheFractionOfCodesSeen()
    {
        var counts = TokenizerMetrics.CodeCounts(new long[] { 0, 0, 2, 2, 2 }, codebookSize: 4);
        Assert.Equal(new long[] { 2, 0, 3, 0 }, counts);
        Assert.Equal(0.5, TokenizerMetrics.CodebookUsage(counts));
        Assert.Equal(1.0, TokenizerMetrics.CodebookUsage(new long[] { 1, 1, 1 }));
    }

    [Fact]
    public void PerplexityIsExpEntropy()
    {
        Assert.Equal(4.0, TokenizerMetrics.Perplexity(new long[] { 5, 5, 5, 5 }), 10);
        Assert.Equal(1.0, TokenizerMetrics.Perplexity(new long[] { 0, 9, 0 }), 10);
        // p = (3/4, 1/4): H = -(0.75 ln 0.75 + 0.25 ln 0.25)
        double h = -(0.75 * Math.Log(0.75) + 0.25 * Math.Log(0.25));
        Assert.Equal(Math.Exp(h), TokenizerMetrics.Perplexity(new long[] { 3, 1 }), 10);
    }

    [Fact]
    public void CodeOutsideTheCodebookIsRejected() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenizerMetrics.CodeCounts(new long[] { 4 }, codebookSize: 4));
}
