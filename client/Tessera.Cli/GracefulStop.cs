using Tessera.Grains;

namespace Tessera.Cli;

/// <summary>
/// Stops an experiment without losing steps: the running stage writes a checkpoint at its next step and the experiment
/// is cancelled once it is reported (<see cref="StopReason.CancelAfterCheckpoint"/>). The grain gives rank 0 up to
/// 30 s; if the experiment is still not stopped after <see cref="Patience"/>, it is cancelled outright, so a stop never
/// hangs on a stuck rank.
/// </summary>
public static class GracefulStop
{
    /// <summary>The grain's 30 s for the checkpoint, plus time for the report and the stop to land.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    public static async Task<ExperimentStatus> StopAsync(IExperimentGrain experiment, CancellationToken cancellationToken = default)
    {
        await experiment.Stop(StopRequest.CancelAfterCheckpoint);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Patience);
        try
        {
            while (true)
            {
                var status = await experiment.GetStatus();
                if (status.IsFinished) return status;
                await Task.Delay(TimeSpan.FromMilliseconds(250), deadline.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await experiment.Stop(StopRequest.Cancel);
            return await experiment.GetStatus();
        }
    }
}
