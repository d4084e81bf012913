using Orleans.Concurrency;

namespace Tessera.Grains;

/// <summary>
/// One experiment (key: experiment id). Owns the spec and the stage workflow, records progress and artifacts,
/// and answers status polls from memory.
/// </summary>
public interface IExperimentGrain : IGrainWithStringKey
{
    /// <summary>Validates and starts the experiment; returns at once. Submitting the same id twice is an error.</summary>
    Task<ExperimentStatus> Submit(ExperimentSubmission submission);

    Task<ExperimentStatus> GetStatus();

    /// <summary>Progress reports received so far, in arrival order, from index <paramref name="since"/> on (for incremental polling).</summary>
    Task<IReadOnlyList<MetricsPoint>> GetMetrics(int since);

    /// <summary>
    /// Stops the running stage for the request's reason, which says what follows: a cancel (now, or after rank 0's next
    /// checkpoint) or a planned move to other slots (see <see cref="StopReason"/>). Returns once the stop is under way; a
    /// stop that waits for a checkpoint completes later. An interrupted experiment is cancelled at once; one that
    /// succeeded, failed or was cancelled stays as it is.
    /// </summary>
    Task Stop(StopRequest request);

    /// <summary>
    /// Continues an experiment that failed, was cancelled, or was interrupted (its silo stopped mid-stage): the
    /// stages that completed stay done, and the stage where it stopped restarts from its newest resumable
    /// checkpoint. Returns at once. Refused for an experiment that succeeded or is still running.
    /// </summary>
    Task<ExperimentStatus> Resume();

    // Called by trainer workers. One-way: a worker never waits on the control plane mid-step.
    [OneWay] Task ReportProgress(int stageIndex, StageProgress progress);
    /// <summary>Rank 0 wrote a resumable checkpoint at <paramref name="step"/>: the history up to it is made durable.</summary>
    [OneWay] Task ReportCheckpoint(int stageIndex, int step);
    /// <summary>Rank 0 finished the stage. A report of an older generation (ranks since replaced by a restart) is ignored.</summary>
    Task ReportStageCompleted(int stageIndex, long generation, StageResult result);
    /// <summary>A rank failed. A report of an older generation is ignored; otherwise the stage restarts (max_restarts) or the experiment fails.</summary>
    Task ReportStageFailed(int stageIndex, long generation, string error);

    /// <summary>
    /// Rendezvous of a data-parallel stage: rank <paramref name="rank"/> of generation <paramref name="generation"/>
    /// registers its collective endpoint (idempotent) and gets the ring so far; it is complete (with the secret)
    /// once every rank has registered. Ranks poll, since a call waiting for the others would block the grain.
    /// A stale generation or stage is refused.
    /// </summary>
    Task<RingMembership> JoinRing(int stageIndex, long generation, int rank, string endpoint);
}
