using System.Net;
using System.Text.Json;
using Serilog.Events;
using Tessera.Tests.Dashboard;

namespace Tessera.Tests.Observability;

/// <summary>
/// Experiment log events against a real silo: the ExperimentId and Stage properties on what grains and the worker
/// thread log, the incremental /logs endpoint, and the experiment's log.jsonl.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class ExperimentLogTests(DashboardSilo silo)
{
    [Fact]
    public async Task EventsOfARunningStageCarryExperimentIdAndStage()
    {
        string id = await silo.SubmitTokenizer("logprops", steps: 4, logEvery: 2);
        await silo.WaitUntilFinished(id);

        var mine = silo.Events.Events.Where(e => Property(e, "ExperimentId") == id).ToList();
        // From the worker thread (TrainerWorker), from grain calls (progress, completion) and from the stage-start timer.
        Assert.Contains(mine, e => Source(e) == "Tessera.Grains.TrainerGrain" && e.RenderMessage().Contains("starting"));
        Assert.Contains(mine, e => Source(e) == "Tessera.Grains.ExperimentGrain" && e.RenderMessage().StartsWith("Step 4/4"));
        Assert.Contains(mine, e => e.MessageTemplate.Text.Contains("completed") && Property(e, "Stage") == "tokenizer");
        // Everything logged about this experiment once it has a stage names that stage; only submission precedes it.
        // (The scheduler's own events are about the cluster's queue and go to the silo log; the experiment logs its grant.)
        var aboutIt = silo.Events.Events.Where(e => e.RenderMessage().Contains(id) || Property(e, "ExperimentId") == id)
            .Where(e => Source(e) != "Tessera.Grains.SchedulerGrain").ToList();
        var unscoped = aboutIt.Where(e => Property(e, "ExperimentId") != id || Property(e, "Stage") != "tokenizer")
            .Select(e => e.RenderMessage()).ToList();
        Assert.True(unscoped.All(m => m.Contains("submitted")), $"events without experiment and stage: {string.Join(" | ", unscoped)}");
    }

    [Fact]
    public async Task LogsEndpointPagesEventsLikeTheMetricsEndpoint()
    {
        string id = await silo.SubmitTokenizer("logapi", steps: 6, logEvery: 2);
        await silo.WaitUntilFinished(id);

        var all = await silo.GetJson($"api/experiments/{id}/logs?since=0");
        Assert.Equal("succeeded", all.GetProperty("state").GetString());
        Assert.True(all.GetProperty("finished").GetBoolean());
        var events = all.GetProperty("events").EnumerateArray().ToList();
        Assert.Equal(Enumerable.Range(0, events.Count), events.Select(e => e.GetProperty("index").GetInt32()));
        Assert.Equal(events.Count, all.GetProperty("next").GetInt32());
        foreach (string field in new[] { "time", "level", "stage", "source", "message", "exception" })
            Assert.True(events[0].TryGetProperty(field, out _), $"log event lacks '{field}'");
        var steps = events.Where(e => e.GetProperty("message").GetString()!.StartsWith("Step ")).ToList();
        Assert.Equal(["Step 2/6", "Step 4/6", "Step 6/6"], steps.Select(e => e.GetProperty("message").GetString()![..8]));
        Assert.All(steps, e => Assert.Equal("tokenizer", e.GetProperty("stage").GetString()));
        Assert.All(steps, e => Assert.Equal("information", e.GetProperty("level").GetString()));
        Assert.Contains("finished: succeeded", events[^1].GetProperty("message").GetString());

        var tail = await silo.GetJson($"api/experiments/{id}/logs?since=2&max=1");
        Assert.Equal(2, Assert.Single(tail.GetProperty("events").EnumerateArray()).GetProperty("index").GetInt32());
        Assert.Equal(3, tail.GetProperty("next").GetInt32());
        var none = await silo.GetJson($"api/experiments/{id}/logs?since={events.Count}");
        Assert.Empty(none.GetProperty("events").EnumerateArray());
        Assert.Equal(events.Count, none.GetProperty("next").GetInt32());

        foreach (var (path, status) in new[]
        {
            ($"api/experiments/{id}/logs?since=-1", HttpStatusCode.BadRequest),
            ($"api/experiments/{id}/logs?max=0", HttpStatusCode.BadRequest),
            ("api/experiments/no-such-experiment/logs", HttpStatusCode.NotFound),
        })
        {
            using var response = await silo.Http.GetAsync(path);
            Assert.Equal(status, response.StatusCode);
        }
    }

    [Fact]
    public async Task LogJsonlInTheRunFolderHoldsTheExperimentsEvents()
    {
        string id = await silo.SubmitTokenizer("logfile", steps: 2, logEvery: 1);
        await silo.WaitUntilFinished(id);
        string file = Path.Combine(silo.RunsDirectory, id, "log.jsonl");

        // Written off the logging thread: give the background writer a moment.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        string[] lines = [];
        while (DateTime.UtcNow < deadline)
        {
            lines = File.Exists(file) ? ReadShared(file) : [];
            if (lines.Any(l => l.Contains("finished"))) break;
            await Task.Delay(100);
        }
        Assert.Contains(lines, l => l.Contains("finished"));
        foreach (string line in lines)
        {
            var e = JsonDocument.Parse(line).RootElement;
            Assert.Equal(id, e.GetProperty("ExperimentId").GetString());
            Assert.True(e.TryGetProperty("@t", out _) && e.TryGetProperty("@mt", out _), $"not compact JSON: {line}");
        }
        Assert.Contains(lines, l => l.Contains("\"Stage\":\"tokenizer\""));
    }

    static string[] ReadShared(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    static string? Property(LogEvent e, string name) =>
        e.Properties.TryGetValue(name, out var value) && value is ScalarValue { Value: string s } ? s : null;

    static string? Source(LogEvent e) => Property(e, "SourceContext");
}
