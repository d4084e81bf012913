using Tessera.Stages;
using Microsoft.Extensions.Logging;
using Tessera.Grains.Workers;

namespace Tessera.Grains;

/// <summary>
/// One rank of one stage. Start returns at once: the training runs on a worker thread of this silo, never on
/// the Orleans scheduler, and reports to the experiment grain by itself. It is activated on the silo whose slot
/// the scheduler reserved for its rank (<see cref="SlotPlacementDirector"/>).
/// </summary>
[SlotPlacement]
public sealed class TrainerGrain(WorkerServices services, RunningWorkers running, ILogger<TrainerGrain> logger) : Grain, ITrainerGrain
{
    TrainerWorker? _worker;

    public async Task Start(TrainerAssignment assignment)
    {
        if (_worker is { IsRunning: true } old)
        {
            if (assignment.Generation <= old.Generation)
                throw new InvalidOperationException($"trainer {this.GetPrimaryKeyString()} is already running generation {old.Generation}");
            // A restart of the stage replaces this rank's worker: stop the old one quietly, and wait, so two
            // generations never train (or write) at once.
            old.Interrupt();
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await old.WaitAsync(patience.Token);
            if (old.IsRunning)
                throw new InvalidOperationException($"trainer {this.GetPrimaryKeyString()}: the worker of generation {old.Generation} did not stop within 60 s");
        }
        // Keep this activation (and its worker handle) while a stage may run for hours without calls.
        DelayDeactivation(TimeSpan.FromDays(7));
        _worker = new TrainerWorker(assignment, services, logger);
        _worker.Start();
        running.Add(_worker);
    }

    /// <summary>
    /// Stops the worker and lets this activation go (its deactivation waits for the worker's thread), so the next
    /// generation of this rank is placed afresh, on whatever slot the scheduler reserved for it.
    /// </summary>
    public Task Stop()
    {
        _worker?.Cancel();
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public Task<bool> IsRunning() => Task.FromResult(_worker is { IsRunning: true });

    public Task<bool> CheckpointSoon() => Task.FromResult(_worker?.RequestCheckpoint() ?? false);

    /// <summary>
    /// The silo is stopping (or the grain is being moved): stop the worker without reporting a failure, so the
    /// experiment stays resumable at its last checkpoint, and wait for its thread so nothing writes afterwards.
    /// </summary>
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_worker is { IsRunning: true } worker)
        {
            logger.LogWarning("Trainer {Trainer} deactivating ({Reason}) while training: stopping its worker", this.GetPrimaryKeyString(), reason);
            // A worker already told to stop (Stop) reports as it was told; any other is interrupted quietly.
            if (!worker.IsStopping) worker.Interrupt();
            await worker.WaitAsync(cancellationToken);
        }
        await base.OnDeactivateAsync(reason, cancellationToken);
    }
}
