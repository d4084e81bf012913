using Tessera.Bench;
using Tessera.Silo.Api;
using Tessera.Tests.Dashboard;

namespace Tessera.Tests.Observability;

/// <summary>The parts of `tessera-bench api` that decide its figures: the load's accounting and the throughput windows.</summary>
[Collection(DashboardCollection.Name)]
public sealed class BenchApiTests(DashboardSilo silo)
{
    [Fact]
    public async Task LoadCountsEveryAnsweredRequestAndItsLatency()
    {
        string id = await silo.SubmitTokenizer("benchload", steps: 2, logEvery: 1);
        await silo.WaitUntilFinished(id);
        using var load = new ApiLoad(new Uri(silo.BaseUrl), connections: 3);

        var ok = await load.RunAsync($"api/experiments/{id}", ratePerSecond: 150, TimeSpan.FromSeconds(1), CancellationToken.None);
        // 150/s for 1 s on 3 connections: 50 due on each, whatever the machine's speed (late ones are sent at once).
        Assert.Equal(150, ok.Requests);
        Assert.Equal(0, ok.Errors);
        Assert.True(ok.P50Ms > 0 && ok.P50Ms <= ok.P99Ms && ok.P99Ms <= ok.MaxMs, $"{ok}");

        var missing = await load.RunAsync("api/experiments/no-such-experiment", ratePerSecond: 30, TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.Equal(30, missing.Errors);
    }

    [Fact]
    public void ThroughputWeighsWholeIntervalsInsideTheWindowOnly()
    {
        var t0 = new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
        MetricsPointDto Point(int index, string stage, double seconds, double rate) =>
            new(index, stage, index * 10, 0.1, rate, new Dictionary<string, double>(), t0.AddSeconds(seconds));
        var points = new[]
        {
            Point(0, "a", 0, 999),   // first report: covers set-up, never an interval end on its own
            Point(1, "a", 1, 100),   // interval [0,1] starts before the window
            Point(2, "a", 2, 200),   // [1,2]: inside, 1 s
            Point(3, "a", 5, 400),   // [2,5]: inside, 3 s
            Point(4, "b", 6, 5000),  // new stage: its interval spans the stage change, skipped
            Point(5, "b", 7, 100),   // [6,7]: ends after the window
        };

        var (rate, intervals) = TrainingThroughput.Over(points, t0.AddSeconds(0.5), t0.AddSeconds(6.5));

        Assert.Equal(2, intervals);
        Assert.Equal((200 * 1 + 400 * 3) / 4.0, rate, 9);
        Assert.True(double.IsNaN(TrainingThroughput.Over(points, t0.AddSeconds(2.5), t0.AddSeconds(4)).ImagesPerSecond));
    }
}
