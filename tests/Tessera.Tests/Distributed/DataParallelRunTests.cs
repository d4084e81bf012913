using System.Text.Json;
using Tessera.Cli;
using Tessera.Collective;
using Tessera.Grains;
using Tessera.Grains.Workers;
using Tessera.Stages;
using Tessera.Trainers.Evaluation;
using Tessera.Trainers.Generators;
using Tessera.Trainers.Tokenizers;
using TorchSharp;

namespace Tessera.Tests.Distributed;

/// <summary>
/// `workers: 2` through the whole platform: the experiment grain starts two ranks, they meet through its
/// rendezvous, exchange gradients over the silo's real gRPC endpoint, and end where one rank on the whole
/// batch ends.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class DataParallelRunTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), $"tessera-dp-{Guid.NewGuid():N}");

    readonly Xunit.Abstractions.ITestOutputHelper _output;

    public DataParallelRunTests(Xunit.Abstractions.ITestOutputHelper output)
    {
        _output = output;
        Directory.CreateDirectory(_dir);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static string Spec(int workers) => $"""
        experiment: dp{workers}
        seed: 5
        device: cpu
        dataset:
          name: mnist
        stages:
          - kind: tokenizer
            quantizer: simvq
            workers: {workers}
            steps: 4
            batch_size: 8
            log_every: 2
            warmup_steps: 1
            hidden_channels: 8
            latent_channels: 8
            codebook_size: 32
          - kind: tokenize
          - kind: generator
            workers: {workers}
            steps: 4
            batch_size: 8
            log_every: 2
            warmup_steps: 1
            model_dim: 16
            layers: 1
            heads: 2
            dropout: 0
          - kind: classifier
            workers: {workers}
            steps: 4
            batch_size: 16
            log_every: 2
            warmup_steps: 1
            channels: 4
            feature_dim: 8
            dropout: 0
        """;

    async Task<string> Run(int workers)
    {
        string spec = Path.Combine(_dir, $"dp{workers}.yaml");
        await File.WriteAllTextAsync(spec, Spec(workers));
        string runs = Path.Combine(_dir, $"runs{workers}");
        Assert.Equal(ExitCodes.Success, await TesseraApp.RunAsync(["run", spec, "--runs", runs]));
        return Assert.Single(Directory.GetDirectories(runs, $"dp{workers}-*"));
    }

    [Fact]
    public async Task TwoWorkersEndWhereOneWorkerOnTheWholeBatchEnds()
    {
        string one = await Run(1), two = await Run(2);

        // Compared on what training changed (weights minus the seeded initial weights both runs start from), so a
        // broken average cannot hide behind the small size of a few steps' updates.
        var ratios = new Dictionary<string, double>();
        foreach (var (stage, bound) in new[] { ("tokenizer", 1e-5), ("generator", 1e-5), ("classifier", 0.3) })
        {
            var (init, a) = Weights(Path.Combine(one, "checkpoints", $"{stage}.ckpt"));
            var (_, b) = Weights(Path.Combine(two, "checkpoints", $"{stage}.ckpt"));
            double update = Norm(a.Zip(init, (x, y) => x - y)), difference = Norm(a.Zip(b, (x, y) => x - y));
            Assert.True(update > 0, $"{stage}: training changed nothing");
            ratios[stage] = difference / update;
        }
        // Measured (2 cores): tokenizer 2.2e-7, generator 3.2e-7, classifier 0.17; with the gradient average switched
        // off, 0.11, 0.14 and 0.85. The classifier's BatchNorm normalises each rank's slice with that slice's own
        // statistics (as PyTorch DDP without SyncBatchNorm), so only its bound is loose.
        string all = string.Join(", ", ratios.Select(r => $"{r.Key} {r.Value:G3}"));
        _output.WriteLine($"|two - one| / |one - init|: {all}");
        Assert.True(ratios["tokenizer"] < 1e-5 && ratios["generator"] < 1e-5 && ratios["classifier"] < 0.3,
            $"|two - one| / |one - init|: {all}");
        using var summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(two, "summary.json")));
        Assert.Equal("succeeded", summary.RootElement.GetProperty("state").GetString());
        // Progress counts all ranks' images, reported by rank 0 only: one row per log step per stage.
        string[] rows = await File.ReadAllLinesAsync(Path.Combine(two, "metrics.jsonl"));
        Assert.Equal([2, 4], rows.Select(r => JsonDocument.Parse(r).RootElement)
            .Where(r => r.GetProperty("stage").GetString() == "generator").Select(r => r.GetProperty("step").GetInt32()));
    }

    static double Norm(IEnumerable<float> values) => Math.Sqrt(values.Sum(v => (double)v * v));

    /// <summary>
    /// The seeded initial weights and the trained weights of a checkpoint, flattened: the trainer restored by the
    /// stage's own loader, and a fresh trainer built from the same config and seed, as the stage built it.
    /// </summary>
    static (float[] Init, float[] Trained) Weights(string checkpoint)
    {
        using var stream = File.OpenRead(checkpoint);
        using var scope = torch.NewDisposeScope();
        (IEnumerable<torch.Tensor> Init, IEnumerable<torch.Tensor> Trained) parameters = Path.GetFileNameWithoutExtension(checkpoint) switch
        {
            "tokenizer" => VqTokenizerTrainer.LoadCheckpoint(stream, torch.CPU) is var t
                ? (new VqTokenizerTrainer(t.Config, torch.CPU, t.Seed).Model.parameters(), t.Model.parameters()) : default,
            "generator" => GeneratorTrainer.LoadCheckpoint(stream, torch.CPU) is var g
                ? (new GeneratorTrainer(g.Config, torch.CPU, g.Seed).Model.parameters(), g.Model.parameters()) : default,
            _ => DigitClassifierTrainer.LoadCheckpoint(stream, torch.CPU) is var c
                ? (new DigitClassifierTrainer(c.Config, torch.CPU, c.Seed).Model.parameters(), c.Model.parameters()) : default,
        };
        static float[] Flat(IEnumerable<torch.Tensor> ps) => ps.SelectMany(p => p.detach().reshape(-1).data<float>().ToArray()).ToArray();
        return (Flat(parameters.Init), Flat(parameters.Trained));
    }

    [Fact]
    public void ARankThatNeverRegistersFailsTheOthersNamingIt()
    {
        var experiment = new SilentPeerExperiment();
        var plane = new DataPlane(new CollectiveHub()) { Endpoint = new Uri("http://127.0.0.1:1") };
        var assignment = new TrainerAssignment("x-1", 0, Spec: null!, Rank: 0, WorldSize: 3, Generation: 1);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var error = Assert.Throws<TimeoutException>(() =>
            RingRendezvousClient.Join(experiment, assignment, "generator", plane, TimeSpan.FromSeconds(1), CancellationToken.None));
        Assert.Contains("rank(s) 1, 2 of 3 did not register within 1 s", error.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "the wait must end at the timeout");
    }

    /// <summary>An experiment grain stand-in whose ring never completes: only rank 0 ever registers.</summary>
    sealed class SilentPeerExperiment : IExperimentGrain
    {
        public Task<RingMembership> JoinRing(int stageIndex, long generation, int rank, string endpoint) =>
            Task.FromResult(new RingMembership([endpoint, "", ""], "", generation));

        public Task<ExperimentStatus> Submit(ExperimentSubmission submission) => throw new NotSupportedException();
        public Task<ExperimentStatus> GetStatus() => throw new NotSupportedException();
        public Task<IReadOnlyList<MetricsPoint>> GetMetrics(int since) => throw new NotSupportedException();
        public Task Stop(StopRequest request) => throw new NotSupportedException();
        public Task<ExperimentStatus> Resume() => throw new NotSupportedException();
        public Task ReportProgress(int stageIndex, StageProgress progress) => throw new NotSupportedException();
        public Task ReportCheckpoint(int stageIndex, int step) => throw new NotSupportedException();
        public Task ReportStageCompleted(int stageIndex, long generation, StageResult result) => throw new NotSupportedException();
        public Task ReportStageFailed(int stageIndex, long generation, string error) => throw new NotSupportedException();
    }
}
