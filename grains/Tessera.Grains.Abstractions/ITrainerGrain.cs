namespace Tessera.Grains;

/// <summary>
/// One data-parallel rank of one stage (key: "{experiment}/{stage}/{rank}"). Starts the worker thread on its
/// silo and returns at once; the worker reports to the experiment grain.
/// </summary>
public interface ITrainerGrain : IGrainWithStringKey
{
    Task Start(TrainerAssignment assignment);

    /// <summary>Asks the worker to stop after its current step.</summary>
    Task Stop();

    Task<bool> IsRunning();

    /// <summary>
    /// Asks rank 0's training loop for a resumable checkpoint at its next step boundary; it reports it to the
    /// experiment (ReportCheckpoint) when written. False if this rank takes no such checkpoint (then none will come).
    /// </summary>
    Task<bool> CheckpointSoon();
}
