using Microsoft.Extensions.Logging;

namespace Tessera.Grains;

/// <summary>
/// A planned move or stop of the running stage that waits for rank 0's checkpoint at its next step, so it loses no
/// steps: what to do once the checkpoint is reported (given its step) or, if none comes within
/// <see cref="Patience"/>, from the last one (given null). Also watches a stage running on fewer ranks than its
/// workers for the slots to grow back.
/// </summary>
sealed class CheckpointPlan(IGrainBase grain, Func<ExperimentGrainState> state, StageRanks ranks, SchedulerLink scheduler,
    string experimentId, ILogger logger)
{
    /// <summary>How long a planned move or stop waits for rank 0's checkpoint before going ahead from the last one.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>How often a stage running on fewer ranks than its workers looks for the slots to grow back.</summary>
    static readonly TimeSpan GrowBackCheck = TimeSpan.FromSeconds(10);

    Func<int?, Task>? _then;
    IGrainTimer? _deadline;
    IGrainTimer? _growBack;

    ExperimentGrainState S => state();
    string Stage => S.StageNames[S.StageIndex];

    /// <summary>
    /// Asks rank 0 of the running stage for a checkpoint at its next step and runs <paramref name="then"/> when it is
    /// reported (<see cref="TakeReported"/>), or at once (with null) if rank 0 cannot take one, or after the patience (with
    /// null). A plan already waiting keeps its checkpoint request; <paramref name="overrides"/> says whether this plan
    /// replaces it (a stop does, a second move does not).
    /// </summary>
    /// <param name="optional">The plan is only worth it with the checkpoint (a grow-back): without one, nothing happens,
    /// and the result is false when rank 0 takes no checkpoint on request at all.</param>
    public async Task<bool> After(string reason, string action, bool overrides, Func<int?, Task> then, bool optional = false)
    {
        string stage = Stage;
        if (_then is not null)
        {
            if (overrides) _then = then;
            return true;
        }
        bool asked;
        try { asked = await ranks.Trainer(stage, 0).CheckpointSoon().WaitAsync(TimeSpan.FromSeconds(10)); }
        catch (Exception e)
        {
            logger.LogWarning("Experiment {Id}: rank 0 of stage {Stage} could not be asked for a checkpoint: {Problem}", experimentId, stage, e.Message);
            asked = false;
        }
        if (S.State.IsFinished()) return true; // a cancel or failure arrived while rank 0 was being asked
        if (!asked && optional)
        {
            logger.LogInformation("Experiment {Id}: {Reason}, but rank 0 of stage {Stage} takes no checkpoint on request; it stays as it is", experimentId, reason, stage);
            return false;
        }
        if (!asked)
        {
            logger.LogWarning("Experiment {Id}: {Reason}; stage {Stage} {Action} from its last checkpoint", experimentId, reason, stage, action);
            await then(null);
            return true;
        }
        logger.LogWarning("Experiment {Id}: {Reason}; stage {Stage} {Action} after rank 0's checkpoint at its next step", experimentId, reason, stage, action);
        _then = then;
        long generation = S.Generation;
        _deadline = grain.RegisterGrainTimer(async _ =>
        {
            if (_then is not { } late || S.Generation != generation || S.State.IsFinished()) return;
            logger.LogWarning("Experiment {Id}: no checkpoint from rank 0 within {Seconds} s; stage {Stage} {What}",
                experimentId, Patience.TotalSeconds, stage, optional ? "stays as it is" : "goes ahead from its last one");
            Forget();
            if (!optional) await late(null);
        }, new GrainTimerCreationOptions { DueTime = Patience, Period = Timeout.InfiniteTimeSpan });
        return true;
    }

    /// <summary>Rank 0 reported a checkpoint: the plan waiting for it, if any, now forgotten so it runs once.</summary>
    public Func<int?, Task>? TakeReported()
    {
        var then = _then;
        Forget();
        return then;
    }

    public void Forget()
    {
        _then = null;
        _deadline?.Dispose();
        _deadline = null;
    }

    /// <summary>
    /// A stage that started on fewer ranks than its workers (min_workers) grows back when the slots return: once the
    /// scheduler shows enough free slots and nobody queued for them (a waiting experiment comes first), rank 0 checkpoints
    /// at its next step and the stage re-forms (<paramref name="restart"/>), asking for all its workers again, like a
    /// drain's move. Stops with the generation it watches.
    /// </summary>
    public void WatchForGrowBack(int running, int workers, Func<Task> restart)
    {
        long generation = S.Generation;
        _growBack?.Dispose();
        _growBack = grain.RegisterGrainTimer(async _ =>
        {
            if (S.Generation != generation || S.State.IsFinished() || !ranks.Running)
            {
                StopWatching();
                return;
            }
            if (_then is not null) return; // a move or stop is under way
            var snapshot = await scheduler.Scheduler.Snapshot();
            long free = snapshot.Silos.Where(silo => !silo.Draining).Sum(silo => Math.Max(0L, (long)silo.Slots - silo.InUse)); // an embedded silo's are unlimited
            if (snapshot.Queue.Count > 0 || free < workers - running) return;
            // A stage that takes no checkpoint on request (tokenize, eval) would start its work over: it stays small.
            if (!await After($"{free} slot(s) free again for the {workers - running} missing worker(s)", $"grows back to {workers} ranks",
                    overrides: false, _ => restart(), optional: true))
                StopWatching();
        }, new GrainTimerCreationOptions { DueTime = GrowBackCheck, Period = GrowBackCheck });
    }

    void StopWatching()
    {
        _growBack?.Dispose();
        _growBack = null;
    }
}
