using Tessera.Infra.Storage;

namespace Tessera.Grains;

/// <summary>
/// Where an experiment is in its life. Interrupted: the silo driving it stopped while it ran; nothing runs now and
/// `tessera resume` continues it from its last checkpoint.
/// </summary>
public enum ExperimentState { Pending = 0, Running = 1, Succeeded = 2, Failed = 3, Cancelled = 4, Interrupted = 5 }

public static class ExperimentStates
{
    /// <summary>Nothing runs any more (an interrupted experiment may be resumed, which makes it pending again).</summary>
    public static bool IsFinished(this ExperimentState state) =>
        state is ExperimentState.Succeeded or ExperimentState.Failed or ExperimentState.Cancelled or ExperimentState.Interrupted;

    /// <summary>The state as logs, gauges and summary.json spell it.</summary>
    public static string Name(this ExperimentState state) => state.ToString().ToLowerInvariant();
}

/// <summary>What a client submits: the spec text as written (the experiment grain validates it again).</summary>
[GenerateSerializer, Immutable]
public sealed record ExperimentSubmission(
    [property: Id(0)] string SpecYaml,
    [property: Id(1)] string SpecFile,
    [property: Id(2)] DateTimeOffset SubmittedAt);

/// <summary>Live progress of one stage, as the rank-0 worker reports it every few steps.</summary>
[GenerateSerializer, Immutable]
public sealed record StageProgress(
    [property: Id(0)] string Stage,
    [property: Id(1)] int Step,
    [property: Id(2)] int TotalSteps,
    [property: Id(3)] double Loss,
    [property: Id(4)] double ImagesPerSecond,
    [property: Id(5)] IReadOnlyDictionary<string, double> Metrics);

/// <summary>What a finished stage leaves behind: headline metrics and the artifacts it wrote.</summary>
[GenerateSerializer, Immutable]
public sealed record StageResult(
    [property: Id(0)] string Stage,
    [property: Id(1)] IReadOnlyDictionary<string, double> Metrics,
    [property: Id(2)] IReadOnlyList<ArtifactRef> Artifacts,
    [property: Id(3)] double WallSeconds);

/// <summary>The experiment as the CLI and dashboards see it; small enough to poll often.</summary>
[GenerateSerializer, Immutable]
public sealed record ExperimentStatus(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] ExperimentState State,
    [property: Id(3)] string? CurrentStage,
    [property: Id(4)] StageProgress? Progress,
    [property: Id(5)] IReadOnlyList<StageResult> Completed,
    [property: Id(6)] string? Error,
    [property: Id(7)] DateTimeOffset SubmittedAt,
    [property: Id(8)] DateTimeOffset? StartedAt,
    [property: Id(9)] DateTimeOffset? FinishedAt,
    [property: Id(10)] int TotalStages)
{
    /// <summary>Nothing runs any more (an interrupted experiment may be resumed, which makes it pending again).</summary>
    public bool IsFinished => State.IsFinished();
}

/// <summary>One line of <c>tessera list</c>.</summary>
[GenerateSerializer, Immutable]
public sealed record ExperimentListing(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] DateTimeOffset SubmittedAt,
    [property: Id(3)] string Team = "");

/// <summary>One progress report in the experiment's metrics history; <see cref="Index"/> orders them.</summary>
[GenerateSerializer, Immutable]
public sealed record MetricsPoint(
    [property: Id(0)] int Index,
    [property: Id(1)] string Stage,
    [property: Id(2)] int Step,
    [property: Id(3)] double Loss,
    [property: Id(4)] double ImagesPerSecond,
    [property: Id(5)] IReadOnlyDictionary<string, double> Metrics,
    [property: Id(6)] DateTimeOffset Time);
