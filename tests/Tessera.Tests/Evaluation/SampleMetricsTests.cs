using Tessera.Trainers;
using Tessera.Trainers.Evaluation;
using static TorchSharp.torch;

namespace Tessera.Tests.Evaluation;

[Collection(TorchCollection.Name)]
public class SampleMetricsTests
{
    public SampleMetricsTests() => TorchRuntime.Initialize(2);

    [Fact]
    public void ClassAccuracyCountsArgmaxHits()
    {
        var probs = tensor(new double[,] { { 0.9, 0.1 }, { 0.2, 0.8 }, { 0.6, 0.4 }, { 0.3, 0.7 } });
        Assert.Equal(0.75, SampleMetrics.ClassAccuracy(probs, new[] { 0, 1, 0, 0 }), 12);
    }

    [Fact]
    public void InceptionScoreIsOneForIdenticalAndKForConfidentBalancedPredictions()
    {
        Assert.Equal(1.0, SampleMetrics.InceptionScore(tensor(new double[,] { { 0.3, 0.7 }, { 0.3, 0.7 } })), 9);
        Assert.Equal(4.0, SampleMetrics.InceptionScore(eye(4, dtype: float64)), 6);
    }
}
