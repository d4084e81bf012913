using Microsoft.Extensions.Logging;

namespace Tessera.Grains;

/// <summary>
/// An experiment's calls to the scheduler that must not be lost when the scheduler is briefly unreachable (its silo
/// just died and membership has not said so yet): giving a stage's slots back before asking for new ones, and telling
/// it the experiment finished, each tried again until it is heard.
/// </summary>
sealed class SchedulerLink(IGrainBase grain, IGrainFactory grains, Action<TimeSpan> delayDeactivation, string experimentId, ILogger logger)
{
    /// <summary>How soon a queued stage asks the scheduler again, and the first retry of a finish nobody heard.</summary>
    public static readonly TimeSpan QueuedRetry = TimeSpan.FromSeconds(1);

    // A restart could not give the old ranks' slots back: the next stage start does it before it asks for new ones,
    // and keeps asking until the scheduler answers.
    bool _releaseOwed;
    // The experiment finished but the scheduler did not hear it: a timer tells it until it does.
    IGrainTimer? _finishedRetry;

    public ISchedulerGrain Scheduler => grains.GetGrain<ISchedulerGrain>(0);

    /// <summary>Gives the stopped ranks' slots back; if the scheduler cannot hear it now, the next <see cref="Reserve"/> does.</summary>
    public async Task Release() => _releaseOwed = !await Told(scheduler => scheduler.Release(experimentId), "give back the stage's slots");

    /// <summary>
    /// The stage's slots (all at once, or at least its min_workers), or null: none free yet, or the scheduler is
    /// unreachable; the caller asks again after <see cref="QueuedRetry"/>. Reserve is idempotent: an answer that came too
    /// late (a scheduler swamped by a burst, or on a silo that just died) is asked for again.
    /// </summary>
    public async Task<SlotGrant?> Reserve(SlotRequest request)
    {
        if (_releaseOwed) await Release();
        SlotGrant? slots = null;
        if (!_releaseOwed) await Told(async scheduler => slots = await scheduler.Reserve(request), "reserve slots");
        return slots;
    }

    /// <summary>
    /// A stage is about to start. If the experiment was resumed before the scheduler heard of its end, the start gives
    /// the old slots back itself, so no late "finished" releases the new ones.
    /// </summary>
    public void StageStarting()
    {
        if (_finishedRetry is null) return;
        _finishedRetry.Dispose();
        _finishedRetry = null;
        _releaseOwed = true;
    }

    /// <summary>Tells the scheduler the experiment finished, every few seconds until it hears it, so its slots are not lost.</summary>
    public async Task Finished()
    {
        if (await Told(scheduler => scheduler.Finished(experimentId), "release the experiment's slots")) return;
        _finishedRetry?.Dispose();
        delayDeactivation(TimeSpan.FromMinutes(30));
        _finishedRetry = grain.RegisterGrainTimer(async _ =>
        {
            if (!await Told(scheduler => scheduler.Finished(experimentId), "release the experiment's slots")) return;
            _finishedRetry?.Dispose();
            _finishedRetry = null;
        }, new GrainTimerCreationOptions { DueTime = QueuedRetry, Period = TimeSpan.FromSeconds(2) });
    }

    /// <summary>
    /// Makes one call to the scheduler; false, with a warning, if the scheduler cannot be reached (its silo just died
    /// and membership has not said so yet, or it did not answer in time). The caller decides when to try again.
    /// </summary>
    async Task<bool> Told(Func<ISchedulerGrain, Task> call, string what)
    {
        try
        {
            await call(Scheduler);
            return true;
        }
        catch (Exception e) when (e is TimeoutException or OrleansMessageRejectionException)
        {
            logger.LogWarning("Experiment {Id}: could not {What}: the scheduler is unreachable ({Problem}); trying again", experimentId, what, e.Message);
            return false;
        }
    }
}
