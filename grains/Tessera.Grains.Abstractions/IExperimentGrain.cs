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

    Task Cancel();

    // Called by trainer workers. One-way: a worker never waits on the control plane mid-step.
    [OneWay] Task ReportProgress(int stageIndex, StageProgress progress);
    Task ReportStageCompleted(int stageIndex, StageResult result);
    Task ReportStageFailed(int stageIndex, string error);
}
