using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tessera.Infra.Specs;
using Tessera.Infra.Storage;
using Tessera.Trainers;
using Tessera.Trainers.Distributed;

namespace Tessera.Stages;

/// <summary>
/// What a stage runner gets: the spec, its stage, where artifacts and shards come from, progress and cancellation,
/// and for a data-parallel stage this rank's place in the group (null with one worker). Nothing here knows who hosts
/// the stage: a grain's worker thread, a test, or a bench.
/// </summary>
public sealed record StageContext(string ExperimentId, ExperimentSpec Spec, StageSpec Stage, string ResolvedSpecYaml,
    IArtifactStore Store, ShardCache Shards, IProgress<TrainingProgress> Progress, CancellationToken Cancellation,
    DataParallel? Parallel = null, ILogger? Logger = null, Action<int>? Checkpointed = null, CheckpointDemand? Demand = null)
{
    /// <summary>The host's logger (inside the experiment's log scope), or a null logger in tests that pass none.</summary>
    public ILogger Log => Logger ?? NullLogger.Instance;

    /// <summary>Rank 0 (or the only rank): the one that evaluates, writes artifacts and reports.</summary>
    public bool IsLeader => Parallel is null || Parallel.Rank == 0;

    /// <summary>Where this stage's checkpoint, lineage, resume slots and pictures go.</summary>
    public StageArtifacts Artifacts => new(ExperimentId, Stage.Name);
}

/// <summary>A rank other than 0 trains in step with rank 0 but reports nothing.</summary>
public sealed class NoProgress : IProgress<TrainingProgress>
{
    public static NoProgress Instance { get; } = new();
    public void Report(TrainingProgress value) { }
}

/// <summary>A finished stage's headline metrics and the artifacts it wrote.</summary>
public sealed record StageOutcome(IReadOnlyDictionary<string, double> Metrics, IReadOnlyList<ArtifactRef> Artifacts)
{
    /// <summary>What a rank other than 0 returns: it trained in step, rank 0 reports and writes.</summary>
    public static StageOutcome FollowerDone { get; } = new(new Dictionary<string, double>(), []);
}

/// <summary>The stage kinds this layer runs, by the spec's <c>kind</c>, and the set-up of the thread that runs one.</summary>
public static class StageRunner
{
    /// <summary>
    /// Readies the calling thread for a stage: libtorch's thread pool once per process, and when several ranks of one
    /// stage share this process's cores, a fair share of them for this thread.
    /// </summary>
    public static void PrepareThread(int torchThreads, int ranksSharingCores)
    {
        TorchRuntime.Initialize(torchThreads);
        if (ranksSharingCores > 1) TorchRuntime.LimitCallingThread(Math.Max(1, torchThreads / ranksSharingCores));
    }

    /// <summary>
    /// This rank's place in a data-parallel stage of <paramref name="workers"/> workers run by <paramref name="worldSize"/>
    /// ranks: null for one worker on one rank; a group that accumulates the missing workers' slices when it has fewer ranks
    /// than workers (min_workers); <paramref name="reducer"/> averages across ranks (null with one rank).
    /// </summary>
    public static DataParallel? Parallelism(int rank, int worldSize, int workers, IGradientReducer? reducer, ILogger log)
    {
        DataParallel? parallel = worldSize > 1
            ? new DataParallel(rank, worldSize, reducer ?? throw new ArgumentNullException(nameof(reducer)), workers)
            : workers > 1 ? new DataParallel(0, 1, SoloReducer.Instance, workers) // re-formed on one rank: it runs every slice
            : null;
        if (parallel is { Accumulates: true })
            log.LogInformation("Rank {Rank} of {Ranks} runs workers {Virtual} of {Workers}, accumulating their gradients (min_workers)",
                parallel.Rank, parallel.WorldSize, string.Join(", ", parallel.VirtualRanks), parallel.VirtualWorld);
        return parallel;
    }

    /// <summary>
    /// Runs the stage inside one dispose scope that owns every tensor this thread creates (see
    /// <see cref="TorchRuntime.OwningEveryTensor{T}"/>): set-up, evaluation and checkpoint code between the steps' own
    /// scopes makes temporaries too, and one of them finalized mid-op is a segfault.
    /// </summary>
    public static StageOutcome RunOwningEveryTensor(StageContext context)
    {
        var outcome = TorchRuntime.OwningEveryTensor(() => Run(context), out int freed);
        context.Log.LogDebug("Stage {Stage} ended; its dispose scope freed {Tensors} tensors", context.Stage.Name, freed);
        return outcome;
    }

    /// <summary>Runs the stage on the calling thread until it ends, fails or <see cref="StageContext.Cancellation"/> fires.</summary>
    public static StageOutcome Run(StageContext context) => context.Stage.Kind switch
    {
        "tokenizer" => TokenizerStage.Run(context),
        "tokenize" => TokenizeStage.Run(context),
        "generator" => GeneratorStage.Run(context),
        "classifier" => ClassifierStage.Run(context),
        "eval" => EvalStage.Run(context),
        "cca" or "ddo" or "dpo" or "rl" => AlignmentStage.Run(context),
        _ => throw new NotSupportedException($"stage kind '{context.Stage.Kind}' has no runner"),
    };
}
