using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Tessera.Grains;
using Tessera.Grains.Workers;
using Tessera.Stages;
using Tessera.Infra.Storage;
using Tessera.Silo;
using Tessera.Tests.Cluster;

namespace Tessera.Tests.Workflow;

/// <summary>
/// Durable workflows on a real in-process cluster: a cancelled experiment, and one whose silo stopped mid-stage,
/// continue from the stage and the checkpoint where they stopped, without redoing finished stages.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class ResumeWorkflowTests : IAsyncDisposable
{
    readonly string _runs = Path.Combine(Path.GetTempPath(), $"tessera-resume-{Guid.NewGuid():N}");

    // Enough generator steps that the test can interrupt it after a couple of checkpoints on a busy machine.
    const string Spec = """
        experiment: resumable
        seed: 3
        device: cpu
        dataset:
          name: mnist
          shards: 2
        stages:
          - kind: tokenizer
            steps: 8
            batch_size: 16
            log_every: 4
            warmup_steps: 2
            hidden_channels: 8
            latent_channels: 16
            codebook_size: 32
          - kind: tokenize
          - kind: generator
            steps: 400
            batch_size: 8
            log_every: 20
            checkpoint_every: 20
            warmup_steps: 1
            model_dim: 8
            layers: 1
            heads: 1
            mlp_ratio: 1
        """;

    internal static async Task<InProcessTestCluster> StartCluster(string runs)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) => silo.AddTesseraServices(new TesseraSiloOptions { ArtifactRoot = runs, TorchThreads = 2 }));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    /// <summary>Waits until <paramref name="stage"/> has written a resumable checkpoint at or past <paramref name="step"/>; returns its step.
    /// With <paramref name="experiment"/>, a wait that runs out, or that the experiment's end cuts short, names its state, error and progress.</summary>
    async Task<int> WaitForCheckpoint(string id, int step, string stage = "generator", IExperimentGrain? experiment = null)
    {
        var store = new LocalArtifactStore(_runs);
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        string index = StageResume.Index(id, stage);
        try
        {
            while (true)
            {
                if (await store.ExistsAsync(index, deadline.Token))
                {
                    var entries = JsonSerializer.Deserialize<List<StageResume.Entry>>(await store.ReadTextAsync(index, deadline.Token))!;
                    int newest = entries.Max(e => e.Step);
                    if (newest >= step) return newest;
                }
                if (experiment is not null && (await experiment.GetStatus()).IsFinished) deadline.Cancel(); // it will not come
                await Task.Delay(50, deadline.Token);
            }
        }
        catch (OperationCanceledException) when (experiment is not null)
        {
            var status = await experiment.GetStatus();
            Assert.Fail($"no {stage} checkpoint at step {step}: state {status.State}, error '{status.Error}', progress {status.Progress}");
            throw;
        }
    }

    static void AssertResumedOnce(ExperimentStatus status, int checkpointStep)
    {
        Assert.True(status.State == ExperimentState.Succeeded, $"state {status.State}: {status.Error}");
        Assert.Equal(["tokenizer", "tokenize", "generator"], status.Completed.Select(r => r.Stage));
        var generator = status.Completed[2].Metrics;
        Assert.Equal(400, generator["steps"]);
        Assert.InRange(generator["resumed_from_step"], checkpointStep, 399);
        Assert.False(status.Completed[0].Metrics.ContainsKey("resumed_from_step"));
    }

    [Fact]
    public async Task ACancelledExperimentResumesFromItsCheckpoint()
    {
        await using var cluster = await StartCluster(_runs);
        var experiment = cluster.Client.GetGrain<IExperimentGrain>("resumable-1");
        await experiment.Submit(new ExperimentSubmission(Spec, "resumable.yaml", DateTimeOffset.UtcNow));
        int checkpoint = await WaitForCheckpoint("resumable-1", 40);
        await experiment.Stop(StopRequest.Cancel);
        var cancelled = await experiment.GetStatus();
        Assert.Equal(ExperimentState.Cancelled, cancelled.State);
        Assert.Equal(2, cancelled.Completed.Count);

        // Resuming a running experiment changes nothing, a succeeded one is refused; an unknown id is named.
        var resumed = await experiment.Resume();
        Assert.Equal(ExperimentState.Pending, resumed.State);
        Assert.False((await experiment.Resume()).IsFinished);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => cluster.Client.GetGrain<IExperimentGrain>("nope-1").Resume());

        var status = await ExperimentFlowTests.WaitUntilFinished(experiment, TimeSpan.FromMinutes(5));
        AssertResumedOnce(status, checkpoint);
        var again = await Assert.ThrowsAsync<InvalidOperationException>(() => experiment.Resume());
        Assert.Contains("already succeeded", again.Message);

        // The loss curve continues where it stopped: every generator step reported once, in order, to the end.
        var steps = (await experiment.GetMetrics(0)).Where(p => p.Stage == "generator").Select(p => p.Step).ToList();
        Assert.Equal(Enumerable.Range(1, 20).Select(i => i * 20), steps);
    }

    [Fact]
    public async Task AnAlignmentStageCancelledInItsSecondRoundResumesThereFromItsCheckpoint()
    {
        // Two self-play rounds of 100 steps: the checkpoint waited for lies in round 2, after the reference was replaced.
        // (Two ranks over the ring: AlignmentRunTests, through `tessera run` and `tessera resume`.)
        string spec = AlignmentRunTests.ResumableDdoSpec("resumable-ddo", workers: 1);
        await using var cluster = await StartCluster(_runs);
        var experiment = cluster.Client.GetGrain<IExperimentGrain>("resumable-ddo-1");
        await experiment.Submit(new ExperimentSubmission(spec, "resumable-ddo.yaml", DateTimeOffset.UtcNow));
        int checkpoint = await WaitForCheckpoint("resumable-ddo-1", 110, "ddo", experiment);
        await experiment.Stop(StopRequest.Cancel);
        Assert.Equal(ExperimentState.Cancelled, (await experiment.GetStatus()).State);

        await experiment.Resume();
        var status = await ExperimentFlowTests.WaitUntilFinished(experiment, TimeSpan.FromMinutes(5));
        Assert.True(status.State == ExperimentState.Succeeded, $"state {status.State}: {status.Error}");
        Assert.Equal(["tokenizer", "tokenize", "generator", "classifier", "ddo"], status.Completed.Select(r => r.Stage));
        var ddo = status.Completed[4].Metrics;
        Assert.Equal(200, ddo["steps"]);
        Assert.InRange(ddo["resumed_from_step"], checkpoint, 199);
        // Every step reported once, in order, across the restart and the rounds; round 2 from step 101 on.
        var reports = (await experiment.GetMetrics(0)).Where(p => p.Stage == "ddo").ToList();
        Assert.Equal(Enumerable.Range(1, 20).Select(i => i * 10), reports.Select(p => p.Step));
        Assert.All(reports, p => Assert.Equal(p.Step <= 100 ? 1 : 2, p.Metrics["round"]));
    }

    [Fact]
    public async Task AnExperimentWhoseSiloStoppedIsInterruptedAndResumesInANewSilo()
    {
        string tokenizerSha;
        int checkpoint;
        await using (var first = await StartCluster(_runs))
        {
            var experiment = first.Client.GetGrain<IExperimentGrain>("resumable-2");
            await experiment.Submit(new ExperimentSubmission(Spec, "resumable.yaml", DateTimeOffset.UtcNow));
            checkpoint = await WaitForCheckpoint("resumable-2", 20);
            tokenizerSha = (await experiment.GetStatus()).Completed[0].Artifacts.Single(a => a.Path.EndsWith("tokenizer.ckpt")).Sha256;
            await first.StopAllSilosAsync(); // graceful: the trainer stops its worker and reports nothing
        }

        await using var second = await StartCluster(_runs);
        var again = second.Client.GetGrain<IExperimentGrain>("resumable-2");
        var interrupted = await again.GetStatus();
        Assert.Equal(ExperimentState.Interrupted, interrupted.State);
        Assert.Contains("tessera resume resumable-2", interrupted.Error);
        Assert.Contains(await second.Client.GetGrain<ISchedulerGrain>(0).List(), l => l.Id == "resumable-2");

        await again.Resume();
        var status = await ExperimentFlowTests.WaitUntilFinished(again, TimeSpan.FromMinutes(5));
        AssertResumedOnce(status, checkpoint);
        Assert.Equal(tokenizerSha, status.Completed[0].Artifacts.Single(a => a.Path.EndsWith("tokenizer.ckpt")).Sha256);
        Assert.Equal(tokenizerSha, (await new LocalArtifactStore(_runs).GetAsync("resumable-2/checkpoints/tokenizer.ckpt")).Sha256);
    }

    [Fact]
    public async Task AFailedRankRestartsTheStageFromItsCheckpointWhileTheBudgetLasts()
    {
        await using var cluster = await StartCluster(_runs);
        var experiment = cluster.Client.GetGrain<IExperimentGrain>("resumable-3");
        await experiment.Submit(new ExperimentSubmission(Spec.Replace("device: cpu", "device: cpu\nmax_restarts: 1"), "resumable.yaml", DateTimeOffset.UtcNow));
        int checkpoint = await WaitForCheckpoint("resumable-3", 20);
        // The rank's worker fails and reports it, as a crashed one would: the stage restarts by itself.
        CrashRank(cluster, "resumable-3");
        var status = await ExperimentFlowTests.WaitUntilFinished(experiment, TimeSpan.FromMinutes(5));
        AssertResumedOnce(status, checkpoint);

        // Without a budget left the same failure ends the experiment, naming the stage and the restarts used.
        var second = cluster.Client.GetGrain<IExperimentGrain>("resumable-4");
        await second.Submit(new ExperimentSubmission(Spec, "resumable.yaml", DateTimeOffset.UtcNow));
        await WaitForCheckpoint("resumable-4", 20);
        CrashRank(cluster, "resumable-4");
        var failed = await ExperimentFlowTests.WaitUntilFinished(second, TimeSpan.FromMinutes(2));
        Assert.Equal(ExperimentState.Failed, failed.State);
        Assert.Equal("stage 'generator' failed: rank 0: crashed (test)", failed.Error);
    }

    [Fact]
    public async Task AStopAfterCheckpointLosesNoStepsAndTheResumeStartsWhereItStopped()
    {
        await using var cluster = await StartCluster(_runs);
        var experiment = cluster.Client.GetGrain<IExperimentGrain>("resumable-stop");
        // No periodic checkpoints: the only one the stage can resume from is the one the stop asks for.
        await experiment.Submit(new ExperimentSubmission(Spec.Replace("checkpoint_every: 20", "checkpoint_every: 0"), "resumable.yaml", DateTimeOffset.UtcNow));
        using (var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3)))
            while ((await experiment.GetStatus()).Progress is not { Stage: "generator", Step: >= 40 })
                await Task.Delay(50, deadline.Token);

        await experiment.Stop(StopRequest.CancelAfterCheckpoint);
        var stopped = await ExperimentFlowTests.WaitUntilFinished(experiment, TimeSpan.FromMinutes(1));
        Assert.Equal(ExperimentState.Cancelled, stopped.State);
        var match = System.Text.RegularExpressions.Regex.Match(stopped.Error ?? "", @"after a checkpoint at step (\d+)$");
        Assert.True(match.Success, stopped.Error);
        int step = int.Parse(match.Groups[1].Value);
        Assert.InRange(step, 40, 399);
        Assert.Equal(step, await WaitForCheckpoint("resumable-stop", step)); // the stage's newest resumable checkpoint

        await experiment.Resume();
        var status = await ExperimentFlowTests.WaitUntilFinished(experiment, TimeSpan.FromMinutes(5));
        Assert.True(status.State == ExperimentState.Succeeded, $"state {status.State}: {status.Error}");
        Assert.Equal(step, status.Completed[2].Metrics["resumed_from_step"]);
        Assert.Equal(400, status.Completed[2].Metrics["steps"]);

        // With no stage running (the experiment finished), the same call cancels nothing and changes nothing.
        await experiment.Stop(StopRequest.CancelAfterCheckpoint);
        Assert.Equal(ExperimentState.Succeeded, (await experiment.GetStatus()).State);
    }

    /// <summary>Fails the running rank of <paramref name="id"/> the way a crash does (its worker reports the failure).</summary>
    static void CrashRank(InProcessTestCluster cluster, string id)
    {
        var worker = cluster.Silos.SelectMany(silo => silo.ServiceProvider.GetRequiredService<RunningWorkers>().Running())
            .Single(w => w.Assignment.ExperimentId == id);
        worker.InjectFault("crashed (test)");
    }

    public ValueTask DisposeAsync()
    {
        if (Directory.Exists(_runs)) Directory.Delete(_runs, recursive: true);
        return ValueTask.CompletedTask;
    }
}
