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

    /// <summary>Stops the experiment now; a resume continues its stage from the newest checkpoint it already has.</summary>
    Task Cancel();

    /// <summary>
    /// Stops the experiment without losing steps: rank 0 of the running stage writes a checkpoint at its next step and
    /// the experiment is cancelled once it is reported, so a resume continues exactly there. Returns at once; the state
    /// turns cancelled later. A stage that cannot take such a checkpoint, or does not report one within 30 s, is
    /// cancelled from its last one; an experiment with no stage running is cancelled at once.
    /// </summary>
    Task CancelAfterCheckpoint();

    /// <summary>
    /// Continues an experiment that failed, was cancelled, or was interrupted (its silo stopped mid-stage): the
    /// stages that completed stay done, and the stage where it stopped restarts from its newest resumable
    /// checkpoint. Returns at once. Refused for an experiment that succeeded or is still running.
    /// </summary>
    Task<ExperimentStatus> Resume();

    /// <summary>
    /// Moves the running stage <paramref name="stageIndex"/>: its ranks stop, its slots go back, and it starts again as
    /// a new generation on the slots the scheduler now offers, from its newest checkpoint. A planned move (a silo
    /// draining), so it does not count against max_restarts. Ignored if that stage is not running.
    /// </summary>
    [OneWay] Task Reform(int stageIndex, string reason);

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
