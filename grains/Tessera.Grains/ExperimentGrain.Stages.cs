using Microsoft.Extensions.Logging;
using Tessera.Infra.Specs;
using Tessera.Infra.Storage;
using Tessera.Stages;

namespace Tessera.Grains;

// The stage's life: activation, starting a stage on its slots, stopping it for a reason, restarting it, finishing.
public sealed partial class ExperimentGrain
{
    /// <summary>
    /// A stored state that says pending or running, in a fresh activation, means the silo that drove the experiment
    /// stopped: record it as interrupted (resumable) and stop any rank still training for the old activation.
    /// </summary>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _history = new MetricsHistory(store, Id);
        _ranks = new StageRanks(GrainFactory, Id, logger);
        _scheduler = new SchedulerLink(this, GrainFactory, DelayDeactivation, Id, logger);
        _plan = new CheckpointPlan(this, () => S, _ranks, _scheduler, Id, logger);
        _reminder = new WakeReminder(this, Id, logger);
        if (S.Submission is null) return;
        // A state written before the parsed spec was kept (or by a storage that does not keep it) parses its YAML once here.
        S.Spec ??= SpecParser.Parse(S.ResolvedSpecYaml, ExperimentPaths.Spec(Id));
        await _history.LoadAsync(cancellationToken);
        if (S.State is not (ExperimentState.Pending or ExperimentState.Running)) return;
        string stage = StageName;
        await _ranks.StopAll(stage, Spec.Stages[S.StageIndex].Workers);
        if (S.Restarts < Spec.MaxRestarts)
        {
            // The spec allows automatic restarts: carry on at once (the silo that drove it is gone, not the experiment).
            await RestartOrFail($"the silo driving stage '{stage}' stopped");
            return;
        }
        await _scheduler.Scheduler.Finished(Id);
        _gauges.MoveTo(S, ExperimentState.Interrupted);
        S.Error = $"interrupted in stage '{stage}': the silo running it stopped; `tessera resume {Id}` continues from its last checkpoint";
        await state.WriteStateAsync();
        logger.LogWarning("Experiment {Id} was interrupted in stage {Stage} (its silo stopped); it can be resumed", Id, stage);
    }

    public Task Stop(StopRequest request) => request.Reason switch
    {
        StopReason.Cancel => CancelNow(),
        StopReason.CancelAfterCheckpoint => CancelAfterCheckpoint(),
        StopReason.Move => Move(request.StageIndex, request.Why),
        _ => throw new ArgumentOutOfRangeException(nameof(request), request.Reason, "a stop reason this version does not know"),
    };

    async Task CancelNow()
    {
        if (S.Submission is null || (IsFinished && S.State != ExperimentState.Interrupted)) return;
        await Finish(ExperimentState.Cancelled, "cancelled by request");
    }

    async Task CancelAfterCheckpoint()
    {
        if (S.Submission is null || IsFinished || !_ranks.Running)
        {
            await CancelNow();
            return;
        }
        _stopAsked = true;
        await _plan.After("cancel requested", "stops", overrides: true,
            step => Finish(ExperimentState.Cancelled, step is null ? "cancelled by request" : $"cancelled by request after a checkpoint at step {step}"));
    }

    /// <summary>
    /// A planned move: the stage re-forms from rank 0's next checkpoint, so it loses no steps. A stage that takes no such
    /// checkpoint moves at once; one that does not report within the patience moves from its last.
    /// </summary>
    Task Move(int stageIndex, string reason) =>
        stageIndex != S.StageIndex || !_ranks.Running || IsFinished ? Task.CompletedTask
            : _plan.After(reason, "re-forms on other slots", overrides: false, _ => Restart());

    /// <summary>Starts the current stage in a turn of its own, so Submit and stage reports return at once.</summary>
    void ScheduleStageStart(TimeSpan delay = default)
    {
        _live = true;
        // While it drives a workflow this activation must not be collected as idle: a stage may report nothing for
        // a long while, and a fresh activation would take the experiment for interrupted.
        DelayDeactivation(TimeSpan.FromDays(7));
        _scheduler.StageStarting();
        _stageStarter?.Dispose();
        _stageStarter = this.RegisterGrainTimer(StartCurrentStage,
            new GrainTimerCreationOptions { DueTime = delay, Period = Timeout.InfiniteTimeSpan });
    }

    async Task StartCurrentStage(CancellationToken cancellationToken)
    {
        using var logScope = ExperimentLogScope.Begin(logger, Id, StageName);
        await _reminder.Keep();
        try
        {
            // All the stage's slots at once (or, with min_workers, at least that many), or stay queued (pending) and ask
            // again: never a ring short of the ranks it was started with.
            StageSpec stage = Spec.Stages[S.StageIndex];
            int workers = stage.Workers;
            var slots = await _scheduler.Reserve(new SlotRequest(Id, S.StageIndex, workers, Spec.Priority, Spec.Team, stage.Name, stage.MinWorkers));
            if (slots is null)
            {
                ScheduleStageStart(SchedulerLink.QueuedRetry);
                return;
            }
            // With fewer slots than workers, rank r of k runs workers r, r + k, ... and accumulates their gradients.
            int ranks = slots.Silos.Count;
            if (ranks < workers)
                logger.LogWarning("Stage {Stage}: {Ranks} of {Workers} slot(s) free, starting on {Ranks} rank(s) with gradient accumulation (min_workers {Min}) on {Silos}",
                    stage.Name, ranks, workers, ranks, stage.MinWorkers, string.Join(", ", slots.Silos));
            else
                logger.LogInformation("Stage {Stage}: {Ranks} slot(s) on {Silos}", stage.Name, ranks, string.Join(", ", slots.Silos));
            await datasets.PrepareAsync(Spec.Dataset, GrainFactory, cancellationToken);
            _gauges.MoveTo(S, ExperimentState.Running);
            S.StartedAt ??= DateTimeOffset.UtcNow;
            S.Generation++;
            await state.WriteStateAsync();
            _ranks.Form(stage.Name, S.Generation, ranks);
            for (int rank = 0; rank < ranks; rank++)
            {
                using var placement = SlotPlacementDirector.On(slots.Silos[rank]);
                await _ranks.Trainer(stage.Name, rank).Start(new TrainerAssignment(Id, S.StageIndex, Spec, rank, ranks, S.Generation));
            }
            if (ranks < workers) _plan.WatchForGrowBack(ranks, workers, () => Restart());
        }
        catch (Exception e)
        {
            logger.LogError(e, "Experiment {Id}: stage {Stage} could not start", Id, StageName);
            await RestartOrFail($"stage '{StageName}' could not start: {e.Message}");
        }
    }

    /// <summary>Stops the stage's ranks, gives back their slots and starts it again as a new generation after <paramref name="delay"/>.</summary>
    async Task Restart(TimeSpan delay = default)
    {
        _plan.Forget();
        S.Generation++; // late reports of the ranks being stopped now are stale from here on
        await _ranks.StopRunning();
        // The silo that died may have been the scheduler's: then the next start gives the slots back instead of this
        // restart aborting half-done (nothing would start the stage again, and the experiment would hang as running).
        await _scheduler.Release();
        _gauges.MoveTo(S, ExperimentState.Pending);
        await state.WriteStateAsync();
        ScheduleStageStart(delay);
    }

    /// <summary>
    /// A stage failed (a rank crashed or lost its peers, a silo died, the stage could not start): while the spec's
    /// max_restarts allows, stop what is left of its ranks, give back their slots and start it again as a new
    /// generation, which resumes from the stage's newest checkpoint on whatever slots the scheduler finds. Otherwise
    /// the experiment fails with the reason.
    /// </summary>
    async Task RestartOrFail(string reason)
    {
        if (_stopAsked)
        {
            await Finish(ExperimentState.Cancelled, $"cancelled by request; the stage ended before its checkpoint: {reason}");
            return;
        }
        int budget = Spec.MaxRestarts;
        if (S.Restarts >= budget)
        {
            await Finish(ExperimentState.Failed, budget == 0 ? reason : $"{reason} (after {S.Restarts} automatic restart(s))");
            return;
        }
        S.Restarts++;
        logger.LogWarning("Experiment {Id}: {Reason}; restarting the stage from its last checkpoint (restart {Restart} of {Budget})",
            Id, reason, S.Restarts, budget);
        // Backing off (5 s, 10 s, ...) gives a cluster that just lost a silo time to declare it dead, so the scheduler
        // stops offering its slots before the next start.
        await Restart(TimeSpan.FromSeconds(Math.Min(30, 5 * S.Restarts)));
    }

    async Task Finish(ExperimentState final, string? error)
    {
        _plan.Forget();
        _stopAsked = false;
        await _reminder.Drop();
        if (final != ExperimentState.Succeeded) await _ranks.StopRunning();
        _ranks.Forget();
        _live = false;
        _stageStarter?.Dispose();
        await _scheduler.Finished();
        _gauges.MoveTo(S, final);
        S.Error = error;
        S.FinishedAt = DateTimeOffset.UtcNow;
        await state.WriteStateAsync();
        // The curve so far, also when the experiment failed: a resumed run continues it.
        await _history.SaveAsync();
        await store.WriteTextAsync(ExperimentPaths.Summary(Id), ExperimentSummary.ToJson(Status()));
        logger.LogInformation("Experiment {Id} finished: {State}{Error}", Id, final.Name(), error is null ? "" : $" ({error})");
    }
}
