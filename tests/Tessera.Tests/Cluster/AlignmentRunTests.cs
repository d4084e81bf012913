using System.Text.Json;
using Tessera.Cli;
using Tessera.Grains;
using Tessera.Stages;
using Tessera.Infra.Storage;
using Tessera.Trainers;

namespace Tessera.Tests.Cluster;

/// <summary>
/// The four alignment stages end to end through `tessera run` (embedded silo): each post-trains the tiny generator,
/// judges it before and after, writes a generator checkpoint that loads and samples like any other, and its
/// before/after section of report.md. cca, ddo and rl run on two data-parallel ranks over the real gRPC ring; cca
/// leaves its reference log-probabilities beside the token shards.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class AlignmentRunTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), $"tessera-align-{Guid.NewGuid():N}");

    public AlignmentRunTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    const string Spec = $$"""
        experiment: align
        seed: 6
        device: cpu
        dataset:
          name: mnist
          shards: 2
        stages:
        {{ExperimentFlowTests.TinyStages}}
          - kind: cca
            workers: 2
            steps: 3
            batch_size: 8
            lr: 0.001
            log_every: 1
            samples_per_class: 2
          - kind: ddo
            from: generator
            workers: 2
            steps: 2
            rounds: 2
            batch_size: 4
            log_every: 1
            samples_per_class: 2
          - kind: dpo
            from: generator
            pairs: 3
            candidates: 3
            steps: 2
            batch_size: 3
            lr: 0.001
            warmup_steps: 0
            log_every: 1
            samples_per_class: 2
          - kind: rl
            from: generator
            workers: 2
            steps: 2
            batch_size: 2
            group_size: 3
            log_every: 1
            samples_per_class: 2
        """;

    [Fact]
    public async Task EachAlignmentKindTrainsJudgesAndLeavesALoadableGenerator()
    {
        string spec = Path.Combine(_dir, "align.yaml"), runs = Path.Combine(_dir, "runs");
        await File.WriteAllTextAsync(spec, Spec);

        Assert.Equal(ExitCodes.Success, await TesseraApp.RunAsync(["run", spec, "--runs", runs]));

        string run = Assert.Single(Directory.GetDirectories(runs, "align-*"));
        string id = Path.GetFileName(run);
        using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(run, "summary.json")));
        Assert.Equal("succeeded", summary.RootElement.GetProperty("state").GetString());
        string report = await File.ReadAllTextAsync(Path.Combine(run, "report.md"));
        var store = new LocalArtifactStore(runs);
        TorchRuntime.Initialize(2);
        foreach (var (stage, steps) in new[] { ("cca", 3), ("ddo", 4), ("dpo", 2), ("rl", 2) })
        {
            foreach (string file in new[] { $"checkpoints/{stage}.ckpt", $"checkpoints/{stage}.lineage.json", $"{stage}.align.json",
                         $"{stage}-before-guided.png", $"{stage}-before-unguided.png", $"{stage}-after-guided.png", $"{stage}-after-unguided.png" })
                Assert.True(File.Exists(Path.Combine(run, file)), $"missing {file}");

            var metrics = summary.RootElement.GetProperty("stages").GetProperty(stage);
            Assert.Equal(steps, metrics.GetProperty("steps").GetDouble());
            foreach (string when in new[] { "before", "after" })
                foreach (string mode in new[] { "guided", "unguided" })
                {
                    Assert.InRange(metrics.GetProperty($"{when}_{mode}_class_accuracy").GetDouble(), 0, 1);
                    Assert.InRange(metrics.GetProperty($"{when}_{mode}_mean_reward").GetDouble(), 0, 1);
                    double fd = metrics.GetProperty($"{when}_{mode}_fd").GetDouble();
                    Assert.True(double.IsFinite(fd) && fd > 0, $"{stage} {when} {mode}: Fréchet distance {fd}"); // samples are never the data
                }
            Assert.True(double.IsFinite(metrics.GetProperty("kl_to_start").GetDouble()));

            // The aligned checkpoint is a generator: it loads with its tokenizer and samples through `tessera sample`.
            var (generator, tokenizer) = StageCheckpoints.LoadGenerator(store, new StageArtifacts(id, stage), TorchSharp.torch.CPU, default);
            using (generator)
            using (tokenizer)
                Assert.Equal(steps, generator.Step);
            string grid = Path.Combine(_dir, $"{stage}.png");
            Assert.Equal(0, await TesseraApp.RunAsync(["sample", id, "--runs", runs, "--stage", stage, "--class", "2", "--n", "3", "--out", grid]));
            Assert.True(new FileInfo(grid).Length > 0);

            Assert.Contains($"## Post-training `{stage}` ({stage}) from `generator`", report);
            Assert.Contains($"| after (`{stage}`) | guidance-free | 49 |", report);
            Assert.Contains($"| before (`generator`) | guided (cfg 2) | 98 |", report);
            Assert.Contains($"({stage}-after-unguided.png)", report);
        }
        // DDO's two rounds report as one run of 4 steps; DPO's pairs were ranked by the classifier.
        var ddoSteps = File.ReadLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(r => r.GetProperty("stage").GetString() == "ddo").Select(r => r.GetProperty("step").GetInt32());
        Assert.Equal([1, 2, 3, 4], ddoSteps);
        // CCA's reference numbers were kept beside the train token shards: 3 steps x 8 rows, two conditions each (fewer if repeated).
        var cca = summary.RootElement.GetProperty("stages").GetProperty("cca");
        Assert.InRange(cca.GetProperty("reference_cache_misses").GetDouble(), 1, 3 * 8 * 2);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(runs, "tokens", "mnist"), "train-*.tokens.ref-*.lp", SearchOption.AllDirectories));
        var dpo = summary.RootElement.GetProperty("stages").GetProperty("dpo");
        Assert.True(dpo.GetProperty("pairs_chosen_reward").GetDouble() >= dpo.GetProperty("pairs_rejected_reward").GetDouble());
        // The direction DPO must move on a fixed seed: its batch is all 3 pairs, so step 1 scores them with the policy
        // equal to the reference (margin 0) and step 2 scores the same pairs after one descent step on their loss,
        // which must widen the chosen-over-rejected margin.
        var margins = File.ReadLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(r => r.GetProperty("stage").GetString() == "dpo").Select(r => r.GetProperty("reward_margin").GetDouble()).ToList();
        Assert.Equal(2, margins.Count);
        Assert.InRange(margins[0], -1e-6, 1e-6);
        Assert.True(margins[1] > 1e-6, $"DPO's reward margin on the same pairs went from {margins[0]} to {margins[1]}");
    }
    /// <summary>The tiny pipeline, then a ddo stage of two rounds of 100 steps with a checkpoint every 10 (the resume tests').</summary>
    internal static string ResumableDdoSpec(string experiment, int workers) => $$"""
        experiment: {{experiment}}
        seed: 6
        device: cpu
        dataset:
          name: mnist
          shards: 2
        stages:
        {{ExperimentFlowTests.TinyStages}}
          - kind: ddo
            workers: {{workers}}
            rounds: 2
            steps: 100
            batch_size: 4
            lr: 0.001
            log_every: 10
            checkpoint_every: 10
            samples_per_class: 2
        """;

    [Fact]
    public async Task ATwoRankDdoStageStoppedInItsSecondRoundResumesThereThroughTessera()
    {
        // Two ranks over the real ring, two rounds: the stop comes after a checkpoint in round 2, and on resuming rank 0
        // restores its generators while rank 1 reseeds its own from the step.
        string spec = ResumableDdoSpec("align-resume", workers: 2);
        string runs = Path.Combine(_dir, "runs");
        const string id = "align-resume-1";
        using var stop = new CancellationTokenSource();
        var store = new LocalArtifactStore(runs);
        var watch = Task.Run(async () =>
        {
            string index = StageResume.Index(id, "ddo");
            while (!stop.IsCancellationRequested)
            {
                if (await store.ExistsAsync(index)
                    && JsonSerializer.Deserialize<List<StageResume.Entry>>(await store.ReadTextAsync(index))!.Max(e => e.Step) >= 110)
                    stop.Cancel(); // as Ctrl+C: the stage checkpoints at its next step, then the experiment stops
                await Task.Delay(50);
            }
        });
        int stopped = await EmbeddedRun.RunAsync(runs, "run", async client =>
        {
            var experiment = client.GetGrain<IExperimentGrain>(id);
            await experiment.Submit(new ExperimentSubmission(spec, "align-resume.yaml", DateTimeOffset.UtcNow));
            return experiment;
        }, stop.Token);
        stop.Cancel();
        await watch;
        Assert.Equal(ExitCodes.Interrupted, stopped);
        int newest = JsonSerializer.Deserialize<List<StageResume.Entry>>(await store.ReadTextAsync(StageResume.Index(id, "ddo")))!.Max(e => e.Step);
        Assert.InRange(newest, 110, 199);

        Assert.Equal(ExitCodes.Success, await TesseraApp.RunAsync(["resume", id, "--runs", runs]));
        using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(runs, id, "summary.json")));
        var ddo = summary.RootElement.GetProperty("stages").GetProperty("ddo");
        Assert.Equal(200, ddo.GetProperty("steps").GetDouble());
        Assert.Equal(newest, ddo.GetProperty("resumed_from_step").GetDouble());
        // Every tenth step reported once and in order, across the stop and both rounds.
        var steps = File.ReadLines(Path.Combine(runs, id, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(r => r.GetProperty("stage").GetString() == "ddo").Select(r => r.GetProperty("step").GetInt32());
        Assert.Equal(Enumerable.Range(1, 20).Select(i => i * 10), steps);
    }
}
