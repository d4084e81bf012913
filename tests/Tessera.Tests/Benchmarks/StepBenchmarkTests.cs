using Tessera.Trainers;
using Tessera.Bench.Workloads;
using Tessera.Trainers.Evaluation;
using Tessera.Trainers.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Tests.Benchmarks;

/// <summary>
/// The short version of `bench step --leak-steps`: the project's training loops, run as bench workloads for 50 steps,
/// end with as many live tensors as they had at step 10; and the check does see a loop that forgets one.
/// </summary>
[Collection(TorchCollection.Name)]
public class StepBenchmarkTests
{
    public StepBenchmarkTests() => TorchRuntime.Initialize(2);

    public static TheoryData<string> Workloads => new() { "generator", "tokenizer", "msvq", "classifier" };

    private static IStepWorkload Tiny(string kind, int steps) => kind switch
    {
        "generator" => new GeneratorWorkload(kind, Generators.GptGeneratorTests.Tiny with { BatchSize = 8 }, CPU, 1, steps),
        "tokenizer" => new TokenizerWorkload(kind, new VqTokenizerConfig { ImageSize = 28, ImageChannels = 1, BatchSize = 8, HiddenChannels = 8, LatentChannels = 16 }, CPU, 1, steps),
        "msvq" => new TokenizerWorkload(kind, new VqTokenizerConfig { Kind = VqTokenizerConfig.KindMsVq, ImageSize = 28, ImageChannels = 1, BatchSize = 8, HiddenChannels = 8, LatentChannels = 16 }, CPU, 1, steps),
        _ => new ClassifierWorkload(kind, new DigitClassifierConfig { ImageChannels = 1, BatchSize = 8, Channels = 4, FeatureDim = 16 }, CPU, 1, steps),
    };

    [Theory]
    [MemberData(nameof(Workloads))]
    public void LiveTensorsDoNotGrowOverFiftySteps(string kind)
    {
        using var workload = Tiny(kind, steps: 51);
        long at10 = -1, at50 = -1;
        int boundaries = 0;
        workload.Run(k =>
        {
            Assert.Equal(boundaries++, k);
            if (k == 10) at10 = StepBenchmark.LiveTensors();
            if (k == 50) at50 = StepBenchmark.LiveTensors();
        });
        Assert.Equal(51, boundaries);
        Assert.True(at10 > 0);
        Assert.Equal(at10, at50);
        Assert.True(workload.Parameters > 0);
    }

    [Fact]
    public void LeakCheckSeesOneForgottenTensorPerStep()
    {
        var options = new StepBenchmarkOptions(Warmup: 1, Steps: 10, LeakSteps: 120);
        var kept = new List<Tensor>();
        using var workload = new FakeWorkload(options.TotalSteps, () => kept.Add(ones(4))); // outside any scope: never disposed
        var result = StepBenchmark.Run(workload, options);
        Assert.Equal(20, result.Leak!.TensorGrowth);
        Assert.True(result.Leak.Grows);
        Assert.Single(result.Leak.RssEvery100Steps); // step 100; the check ends at 120
        foreach (var t in kept) t.Dispose();
    }

    [Fact]
    public void TimesExactlyTheStepsAfterTheWarmUp()
    {
        var options = new StepBenchmarkOptions(Warmup: 3, Steps: 12);
        using var workload = new FakeWorkload(options.TotalSteps, () => { });
        var result = StepBenchmark.Run(workload, options);
        Assert.Equal(16, workload.Steps);
        Assert.Equal(12, result.StepMs.Length);
        Assert.Null(result.Leak);
        Assert.True(result.P10Ms <= result.MedianMs && result.MedianMs <= result.P90Ms);
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepBenchmarkOptions(0, 9).Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepBenchmarkOptions(0, 10, LeakSteps: 100).Validate());
    }

    [Fact]
    public void RssThatSettlesIsNoGrowthButNewHighsAre()
    {
        const long mb = 1 << 20;
        LeakCheck Check(long[] series, long last) => new(100, 1000, 5, 5, series[0], last, 0, 0, series);
        Assert.False(Check([100 * mb, 110 * mb, 112 * mb, 112 * mb, 111 * mb, 112 * mb, 112 * mb, 111 * mb, 112 * mb], 111 * mb).Grows);
        Assert.True(Check([100 * mb, 102 * mb, 104 * mb, 106 * mb, 108 * mb, 110 * mb, 112 * mb, 114 * mb, 116 * mb], 118 * mb).Grows);
    }

    [Fact]
    public void PercentileInterpolatesBetweenRanks()
    {
        double[] sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
        Assert.Equal(6, StepBenchmark.Percentile(sorted, 0.5));
        Assert.Equal(2, StepBenchmark.Percentile(sorted, 0.1));
        Assert.Equal(10, StepBenchmark.Percentile(sorted, 0.9));
        Assert.Equal(2.5, StepBenchmark.Percentile([2.0, 3.0], 0.5));
    }

    private sealed class FakeWorkload(int steps, Action step) : IStepWorkload
    {
        public string Name => "fake";
        public int BatchSize => 1;
        public long Parameters => 0;
        public int Steps => steps;
        public IReadOnlyDictionary<string, object> Settings => new Dictionary<string, object>();

        public double Run(Action<int> boundary)
        {
            for (int k = 0; k < steps; k++)
            {
                boundary(k);
                step();
            }
            return 0;
        }

        public void Dispose() { }
    }
}
