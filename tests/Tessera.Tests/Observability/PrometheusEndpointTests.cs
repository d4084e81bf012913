using Tessera.Grains;
using Tessera.Tests.Dashboard;

namespace Tessera.Tests.Observability;

/// <summary>The silo's Prometheus scrape endpoint, scraped while and after a small experiment trains.</summary>
[Collection(DashboardCollection.Name)]
public sealed class PrometheusEndpointTests(DashboardSilo silo)
{
    [Fact]
    public async Task ScrapeShowsTrainingSeriesWhileRunningAndStateCountsAfter()
    {
        string id = await silo.SubmitTokenizer("prom", steps: 5000, logEvery: 2);
        string tag = $"experiment=\"{id}\"";
        try
        {
            // Running: throughput of this stage, step-time histogram, steps, and the queue.
            string running = await ScrapeUntil(text => Series(text, "tessera_training_step_duration_seconds_count", tag).Any()
                && Series(text, "tessera_training_images_per_second", tag).Any());
            Assert.Contains(Series(running, "tessera_training_images_per_second", tag), line => line.Contains("stage=\"tokenizer\"") && Value(line) > 0);
            Assert.Contains(Series(running, "tessera_training_step_duration_seconds_bucket", tag), line => line.Contains("le=\"+Inf\"") && Value(line) >= 1);
            Assert.True(Value(Series(running, "tessera_training_step_duration_seconds_sum", tag).Single()) > 0);
            Assert.True(Value(Series(running, "tessera_training_steps_total", tag).Single()) >= 2);
            Assert.True(Value(Series(running, "tessera_queue_length", "").Single()) >= 1);
            Assert.Contains(Series(running, "tessera_experiments", "state=\"running\""), line => Value(line) >= 1);
        }
        finally
        {
            await silo.Client.GetGrain<IExperimentGrain>(id).Stop(StopRequest.Cancel);
        }
        await silo.WaitUntilFinished(id);

        // Ended: its throughput series is gone (not frozen at the last value); the state counts moved on.
        string after = await ScrapeUntil(text => !Series(text, "tessera_training_images_per_second", tag).Any());
        Assert.Contains(Series(after, "tessera_experiments", "state=\"cancelled\""), line => Value(line) >= 1);
        Assert.Contains("# TYPE tessera_training_step_duration_seconds histogram", after);
    }

    /// <summary>Scrapes /metrics until <paramref name="done"/> holds (the exporter caches a scrape briefly), 40 s at most.</summary>
    async Task<string> ScrapeUntil(Func<string, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(40);
        while (true)
        {
            using var response = await silo.Http.GetAsync("metrics");
            Assert.True(response.IsSuccessStatusCode, $"GET /metrics: {(int)response.StatusCode}");
            Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
            string text = await response.Content.ReadAsStringAsync();
            if (done(text)) return text;
            Assert.True(DateTime.UtcNow < deadline, $"/metrics never got there:\n{text}");
            await Task.Delay(250);
        }
    }

    static IEnumerable<string> Series(string text, string name, string label) =>
        text.Split('\n').Where(line => (line.StartsWith(name + "{") || line.StartsWith(name + " ")) && line.Contains(label));

    /// <summary>The sample value: the first field after the labels (a timestamp may follow it).</summary>
    static double Value(string line)
    {
        string rest = line.Contains('}') ? line[(line.LastIndexOf('}') + 1)..] : line[line.IndexOf(' ')..];
        string value = rest.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
        return value == "+Inf" ? double.PositiveInfinity : double.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
