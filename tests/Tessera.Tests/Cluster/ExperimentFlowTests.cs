using System.Text.Json;
using Orleans.TestingHost;
using Tessera.Grains;
using Tessera.Infra.Data;
using Tessera.Infra.Storage;
using Tessera.Silo;

namespace Tessera.Tests.Cluster;

/// <summary>
/// A real in-process Orleans cluster (two silos, as in the Orleans tests) runs a tiny tokenizer experiment
/// through the experiment, dataset shard and trainer grains, and leaves the artifacts a user expects.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class ExperimentFlowTests : IAsyncLifetime
{
    readonly string _runs = Path.Combine(Path.GetTempPath(), $"tessera-cluster-{Guid.NewGuid():N}");
    InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestSilos.StartAsync(_runs, silos: 2, torchThreads: 2);

    public Task DisposeAsync() => TestSilos.StopAsync(_cluster, _runs);

    const string TinySpec = """
        experiment: tiny
        seed: 3
        device: cpu
        dataset:
          name: mnist
          shards: 2
        stages:
          - kind: tokenizer
            steps: 12
            batch_size: 16
            log_every: 4
            warmup_steps: 2
            hidden_channels: 8
            latent_channels: 16
            codebook_size: 32
          - kind: tokenize
          - kind: generator
            steps: 6
            batch_size: 16
            log_every: 3
            warmup_steps: 1
            model_dim: 16
            layers: 1
            heads: 2
          - kind: classifier
            steps: 6
            batch_size: 32
            log_every: 3
            warmup_steps: 1
            channels: 4
            feature_dim: 8
          - kind: eval
            samples_per_class: 3
            cfg: 1.5
        """;

    [Fact]
    public async Task TinyTokenizerExperimentRunsToCompletionThroughTheGrains()
    {
        var experiment = _cluster.Client.GetGrain<IExperimentGrain>("tiny-1");
        ExperimentStatus submitted = await experiment.Submit(new ExperimentSubmission(TinySpec, "tiny.yaml", DateTimeOffset.UtcNow));
        Assert.Equal(ExperimentState.Pending, submitted.State);

        ExperimentStatus status = await WaitUntilFinished(experiment, TimeSpan.FromMinutes(3));
        Assert.True(status.State == ExperimentState.Succeeded, $"state {status.State}: {status.Error}");
        Assert.Equal(["tokenizer", "tokenize", "generator", "classifier", "eval"], status.Completed.Select(r => r.Stage));
        StageResult stage = status.Completed[0];
        Assert.Equal(12, stage.Metrics["steps"]);
        Assert.InRange(stage.Metrics["codebook_usage"], 0.0, 1.0);
        Assert.True(double.IsFinite(stage.Metrics["heldout_psnr_db"]));

        // Every artifact a run promises, with the SHA-256 the experiment recorded.
        foreach (string file in new[] { "spec.yaml", "summary.json", "metrics.jsonl", "recon.png", "checkpoints/tokenizer.ckpt",
                     "checkpoints/generator.ckpt", "checkpoints/generator.lineage.json", "samples-generator.png",
                     "checkpoints/classifier.ckpt", "eval-guided.png", "eval-unguided.png", "report.md" })
            Assert.True(File.Exists(Path.Combine(_runs, "tiny-1", file)), $"missing {file}");
        using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_runs, "tiny-1", "summary.json")));
        Assert.Equal("succeeded", summary.RootElement.GetProperty("state").GetString());
        Assert.True(summary.RootElement.GetProperty("stages").GetProperty("tokenizer").GetProperty("heldout_psnr_db").GetDouble() > 0);
        string[] metricRows = await File.ReadAllLinesAsync(Path.Combine(_runs, "tiny-1", "metrics.jsonl"));
        var tokenizerRows = metricRows.Select(r => JsonDocument.Parse(r).RootElement)
            .Where(r => r.GetProperty("stage").GetString() == "tokenizer");
        Assert.Equal([4, 8, 12], tokenizerRows.Select(r => r.GetProperty("step").GetInt32()));

        // The tokenize stage wrote every image as 49 tokens under the tokenizer checkpoint's hash.
        StageResult tokenize = status.Completed[1];
        Assert.Equal(10_000, tokenize.Metrics["images"]);
        Assert.Equal(49, tokenize.Metrics["tokens_per_image"]);
        string checkpointSha = stage.Artifacts.Single(a => a.Path.EndsWith("tokenizer.ckpt")).Sha256;
        var store = new LocalArtifactStore(_runs);
        var manifest = await TokenDataset.ReadManifestAsync(store, "mnist", checkpointSha, [7]);
        Assert.Equal(9_000, manifest.Train.Sum(e => e.Count));
        var shard = await TokenDataset.ReadShardAsync(store, manifest, manifest.HeldOut[0]);
        Assert.All(shard.Tokens, t => Assert.InRange(t, 0, 31));

        // Shard grains serve those tokens from their silo's cache, and refuse another tokenizer's.
        var shardGrain = _cluster.Client.GetGrain<IDatasetShardGrain>("mnist/train/0");
        TokenShardInfo info = await shardGrain.LoadTokens(checkpointSha, [7]);
        Assert.Equal((manifest.Train[0].Count, 49), (info.Count, info.Length));
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => shardGrain.LoadTokens(new string('0', 64), [7]));
        Assert.Contains("run a `tokenize` stage", refused.Message);

        // Evaluation reports both modes against the held-out floor.
        var eval = status.Completed[4].Metrics;
        foreach (string key in new[] { "guided_class_accuracy", "unguided_class_accuracy", "guided_fd", "unguided_fd", "fd_heldout_halves", "guided_samples_per_second" })
            Assert.True(eval.ContainsKey(key) && double.IsFinite(eval[key]), $"eval metric {key}");
        Assert.InRange(eval["guided_class_accuracy"], 0, 1);
        Assert.Contains("eval-guided.png", await File.ReadAllTextAsync(Path.Combine(_runs, "tiny-1", "report.md")));

        // `tessera sample` reads the same run folder: a grid, a folder of PNGs, and a clear refusal.
        string grid = Path.Combine(_runs, "grid.png"), folder = Path.Combine(_runs, "pngs");
        Assert.Equal(0, await Tessera.Cli.TesseraApp.RunAsync(["sample", "tiny-1", "--runs", _runs, "--class", "3", "--n", "4", "--cfg", "1.5", "--out", grid]));
        Assert.True(new FileInfo(grid).Length > 0);
        Assert.Equal(0, await Tessera.Cli.TesseraApp.RunAsync(["sample", "tiny-1", "--runs", _runs, "--class", "3", "--class", "5", "--n", "2", "--format", "png-dir", "--out", folder]));
        Assert.Equal(["class3-0000.png", "class3-0001.png", "class5-0000.png", "class5-0001.png"],
            Directory.GetFiles(folder).Select(Path.GetFileName).Order());
        Assert.Equal(2, await Tessera.Cli.TesseraApp.RunAsync(["sample", "nope-1", "--runs", _runs, "--out", grid]));

        var listed = await _cluster.Client.GetGrain<ISchedulerGrain>(0).List();
        Assert.Contains(listed, l => l.Id == "tiny-1" && l.Name == "tiny");
    }

    /// <summary>The VAR path end to end: multi-scale tokens, a next-scale generator, its evaluation and `tessera sample`.</summary>
    [Fact]
    public async Task MultiScaleTokenizerFeedsANextScaleGenerator()
    {
        const string spec = """
            experiment: tiny-msvq
            seed: 4
            device: cpu
            dataset:
              name: mnist
              shards: 2
            stages:
              - kind: tokenizer
                model: msvq
                quantizer: simvq
                steps: 6
                batch_size: 16
                log_every: 3
                warmup_steps: 1
                hidden_channels: 8
                latent_channels: 16
                codebook_size: 32
              - kind: tokenize
              - kind: generator
                name: var
                model: var
                steps: 6
                batch_size: 16
                log_every: 3
                warmup_steps: 1
                model_dim: 16
                layers: 1
                heads: 2
              - kind: classifier
                steps: 4
                batch_size: 32
                log_every: 2
                warmup_steps: 1
                channels: 4
                feature_dim: 8
              - kind: eval
                samples_per_class: 2
                cfg: 1.5
            """;
        var experiment = _cluster.Client.GetGrain<IExperimentGrain>("msvq-1");
        await experiment.Submit(new ExperimentSubmission(spec, "msvq.yaml", DateTimeOffset.UtcNow));
        ExperimentStatus status = await WaitUntilFinished(experiment, TimeSpan.FromMinutes(3));
        Assert.True(status.State == ExperimentState.Succeeded, $"state {status.State}: {status.Error}");
        Assert.Equal(1 + 4 + 9 + 16 + 25 + 49, status.Completed[1].Metrics["tokens_per_image"]);
        string checkpointSha = status.Completed[0].Artifacts.Single(a => a.Path.EndsWith("tokenizer.ckpt")).Sha256;
        var manifest = await TokenDataset.ReadManifestAsync(new LocalArtifactStore(_runs), "mnist", checkpointSha, [1, 2, 3, 4, 5, 7]);
        Assert.Equal(104, manifest.Length);
        Assert.True(File.Exists(Path.Combine(_runs, "msvq-1", "recon.png")));

        Assert.Equal(6, status.Completed[2].Metrics["forward_passes_per_image"]);     // one per scale, not one per token
        var eval = status.Completed[4].Metrics;
        Assert.Equal(6, eval["forward_passes_per_image"]);
        Assert.InRange(eval["guided_class_accuracy"], 0, 1);
        Assert.True(eval["unguided_samples_per_second"] > 0);
        string report = await File.ReadAllTextAsync(Path.Combine(_runs, "msvq-1", "report.md"));
        Assert.Contains("| eval | `var` | var | 6 |", report);
        Assert.Contains("(eval-guided.png)", report);

        string grid = Path.Combine(_runs, "var-grid.png");
        Assert.Equal(0, await Tessera.Cli.TesseraApp.RunAsync(["sample", "msvq-1", "--stage", "var", "--runs", _runs, "--n", "2", "--cfg", "2", "--out", grid]));
        Assert.True(new FileInfo(grid).Length > 0);
    }

    [Fact]
    public async Task InvalidSpecIsRejectedByTheExperimentGrain()
    {
        var experiment = _cluster.Client.GetGrain<IExperimentGrain>("broken-1");
        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            experiment.Submit(new ExperimentSubmission("experiment: x\nstages: []\n", "broken.yaml", DateTimeOffset.UtcNow)));
        Assert.Contains("broken.yaml", error.Message);
    }

    internal static async Task<ExperimentStatus> WaitUntilFinished(IExperimentGrain experiment, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            ExperimentStatus status = await experiment.GetStatus();
            if (status.IsFinished) return status;
            await Task.Delay(200, deadline.Token);
        }
    }
}
