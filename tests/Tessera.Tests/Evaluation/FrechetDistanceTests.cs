using Tessera.Trainers;
using Tessera.Trainers.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Tests.Evaluation;

[Collection(TorchCollection.Name)]
public class FrechetDistanceTests
{
    public FrechetDistanceTests() => TorchRuntime.Initialize(2);

    private static Tensor Features(int seed, long n = 400, long f = 16)
    {
        using var g = new Generator((ulong)seed);
        // Correlated features, like a network's: a random linear map of Gaussian noise.
        var mix = randn(new[] { f, f }, generator: g, dtype: float64);
        return randn(new[] { n, f }, generator: g, dtype: float64).matmul(mix) + 3;
    }

    [Fact]
    public void ASetIsAtDistanceZeroFromItself()
    {
        var x = Features(1);
        Assert.True(FrechetDistance.Compute(x, x) < 1e-6);
    }

    [Fact]
    public void DistanceGrowsWithAddedNoise()
    {
        var x = Features(1);
        using var g = new Generator(7);
        var noise = randn(x.shape, generator: g, dtype: float64);
        double previous = FrechetDistance.Compute(x, x);
        foreach (var sigma in new[] { 0.5, 1.0, 2.0, 4.0 })
        {
            double d = FrechetDistance.Compute(x, x + sigma * noise);
            Assert.True(d > previous, $"sigma {sigma}: {d} <= {previous}");
            previous = d;
        }
    }

    [Fact]
    public void MatchesTheClosedFormForDiagonalGaussians()
    {
        // Exact moments by construction: rows +-1 around the mean in each coordinate separately.
        var a = tensor(new double[,] { { 1, 0 }, { -1, 0 }, { 0, 1 }, { 0, -1 } });          // mean 0, cov diag(2/3, 2/3)
        var b = a * 2 + tensor(new double[] { 3, 4 });                                        // mean (3,4), cov diag(8/3, 8/3)
        double expected = 25 + 2 * (2.0 / 3 + 8.0 / 3 - 2 * Math.Sqrt(2.0 / 3 * 8.0 / 3));
        Assert.Equal(expected, FrechetDistance.Compute(a, b), 9);
    }

    [Fact]
    public void SymmetricInItsArguments()
    {
        var x = Features(1);
        var y = Features(2) * 1.3;
        Assert.Equal(FrechetDistance.Compute(x, y), FrechetDistance.Compute(y, x), 6);
    }
}
