using Tessera.Stages;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Tessera.Grains.Workers;
using Tessera.Infra.Specs;
using Tessera.Infra.Storage;
using Tessera.Infra.Telemetry;

namespace Tessera.Grains;

/// <summary>
/// Coordinates one experiment: validates the spec, runs its stages in order (each on trainer grains),
/// keeps live progress and the metrics history, and writes spec.yaml, metrics.jsonl and summary.json.
/// </summary>
public sealed class ExperimentGrain(
    [PersistentState("experiment", GrainStorage.Experiments)] IPersistentState<ExperimentGrainState> state,
    IArtifactStore store,
    DatasetPreparer datasets,
    ILogger<ExperimentGrain> logger) : Grain, IExperimentGrain, IIncomingGrainCallFilter, IRemindable
{
    // Live state is memory-only: it is rebuilt by the next report and not worth a storage write per step.
    StageProgress? _progress;
    readonly List<MetricsRow> _history = [];
    IGrainTimer? _stageStarter;
    // A planned move (drain) or stop waiting for rank 0's checkpoint at its next step: what to do once it is reported
    // (given its step) or, if none comes in time, from the last one (given null). The timer is that deadline.
    Func<int?, Task>? _afterCheckpoint;
    IGrainTimer? _checkpointDeadline;
    // Set while a stage runs on fewer ranks than its workers: looks for the slots to grow back (see WatchForGrowBack).
    IGrainTimer? _growBack;
    // A stop without lost steps was asked for: whatever comes first (the checkpoint, the stage's end, its failure) stops it.
    bool _stopAsked;
    // The ranks of the running stage and their rendezvous; memory only, a new generation starts them afresh.
    RingRendezvous? _ring;
    // Whether this activation is driving the workflow. A state that says running in a fresh activation means the
    // silo that ran it stopped: the experiment was interrupted and can be resumed.
    bool _live;
    // Whether this process's experiment gauges include this experiment (see TesseraMetrics).
    bool _counted;
    // A restart could not give the old ranks' slots back (the scheduler was unreachable): the next stage start does it
    // before it asks for new ones, and keeps asking until the scheduler answers.
    bool _releaseOwed;
    // The experiment finished but the scheduler did not hear it (unreachable): a timer tells it until it does.
    IGrainTimer? _finishedRetry;

    string Id => this.GetPrimaryKeyString();
    ExperimentGrainState S => state.State;

    public async Task<ExperimentStatus> Submit(ExperimentSubmission submission)
    {
        if (S.Submission is not null)
        {
            // The same submission again (a retry under its idempotency key, see SubmissionGrain) is answered, not refused.
            if (S.Submission == submission) return Status();
            throw new InvalidOperationException($"experiment '{Id}' was already submitted");
        }

        ExperimentSpec spec;
        try { spec = SpecParser.Parse(submission.SpecYaml, submission.SpecFile); }
        catch (SpecException e) { throw new ArgumentException(e.Message); }

        // Counted against the team's submission quota before anything is kept: a refusal leaves no trace.
        await Scheduler.Register(new ExperimentListing(Id, spec.Experiment, submission.SubmittedAt, spec.Team));
        S.Submission = submission;
        S.Name = spec.Experiment;
        S.ResolvedSpecYaml = SpecWriter.ToYaml(spec);
        S.State = ExperimentState.Pending;
        S.TotalStages = spec.Stages.Count;
        S.StageNames = spec.Stages.Select(s => s.Name).ToList();
        await state.WriteStateAsync();
        TesseraMetrics.ExperimentMoved(null, StateName(S.State), finished: false);
        _counted = true;

        await store.WriteTextAsync(ExperimentPaths.Spec(Id), S.ResolvedSpecYaml);
        logger.LogInformation("Experiment {Id} ({Name}) submitted with {Stages} stage(s)", Id, S.Name, S.TotalStages);

        ScheduleStageStart();
        return Status();
    }

    public Task<ExperimentStatus> GetStatus()
    {
        if (S.Submission is null) throw new KeyNotFoundException($"no experiment with id '{Id}'");
        return Task.FromResult(Status());
    }

    public Task<IReadOnlyList<MetricsPoint>> GetMetrics(int since) =>
        Task.FromResult<IReadOnlyList<MetricsPoint>>(_history.Skip(Math.Max(since, 0))
            .Select((row, i) => new MetricsPoint(Math.Max(since, 0) + i, row.Stage, row.Step, row.Loss, row.ImagesPerSecond, row.Metrics, row.Time))
            .ToList());

    public async Task Cancel()
    {
        if (S.Submission is null || (IsFinished && S.State != ExperimentState.Interrupted)) return;
        await Finish(ExperimentState.Cancelled, "cancelled by request");
    }

    public async Task CancelAfterCheckpoint()
    {
        if (S.Submission is null || IsFinished || _ring is null)
        {
            await Cancel();
            return;
        }
        _stopAsked = true;
        await AfterCheckpoint("cancel requested", "stops", overrides: true,
            step => Finish(ExperimentState.Cancelled, step is null ? "cancelled by request" : $"cancelled by request after a checkpoint at step {step}"));
    }

    public async Task<ExperimentStatus> Resume()
    {
        if (S.Submission is null) throw new KeyNotFoundException($"no experiment with id '{Id}'");
        if (S.State == ExperimentState.Succeeded)
            throw new InvalidOperationException($"experiment '{Id}' already succeeded; there is nothing to resume");
        if (_live)
        {
            logger.LogInformation("Experiment {Id}: resume asked while it runs (stage {Stage}); nothing to do", Id, S.StageNames[S.StageIndex]);
            return Status();
        }
        // Queued or running again: counted against the team's submission quota (a refusal changes nothing here).
        await Scheduler.Register(new ExperimentListing(Id, S.Name, S.Submission.SubmittedAt,
            SpecParser.Parse(S.ResolvedSpecYaml, ExperimentPaths.Spec(Id)).Team));
        S.Restarts = 0; // a manual resume refills the automatic-restart budget
        string was = StateName(S.State);
        CountLoadedState();
        if (IsFinished)
        {
            TesseraMetrics.ExperimentResumed(was);
            S.State = ExperimentState.Pending;
        }
        else MoveTo(ExperimentState.Pending);
        S.Error = null;
        S.FinishedAt = null;
        await state.WriteStateAsync();
        logger.LogInformation("Experiment {Id} ({Was}) resumes at stage {Stage}; {Done} of {Total} stage(s) already done",
            Id, was, S.StageNames[S.StageIndex], S.Completed.Count, S.TotalStages);
        ScheduleStageStart();
        return Status();
    }

    public Task ReportProgress(int stageIndex, StageProgress progress)
    {
        if (stageIndex != S.StageIndex || IsFinished) return Task.CompletedTask;
        // A resumed stage repeats the steps after its last checkpoint: their new rows replace the lost ones.
        if (_history.Count > 0 && _history[^1].Stage == progress.Stage && _history[^1].Step >= progress.Step)
            _history.RemoveAll(row => row.Stage == progress.Stage && row.Step >= progress.Step);
        _progress = progress;
        _history.Add(new MetricsRow(progress.Stage, progress.Step, progress.Loss, progress.ImagesPerSecond,
            progress.Metrics, DateTimeOffset.UtcNow));
        logger.LogInformation("Step {Step}/{TotalSteps}: loss {Loss:F4}, {ImagesPerSecond:F0} images/s",
            progress.Step, progress.TotalSteps, progress.Loss, progress.ImagesPerSecond);
        return Task.CompletedTask;
    }

    public async Task ReportCheckpoint(int stageIndex, int step)
    {
        if (stageIndex != S.StageIndex || IsFinished) return;
        await store.WriteTextAsync(ExperimentPaths.Metrics(Id), MetricsRow.ToJsonLines(_history));
        if (_afterCheckpoint is { } next)
        {
            logger.LogInformation("Experiment {Id}: checkpoint at step {Step} of stage {Stage} written for a planned move or stop", Id, step, S.StageNames[stageIndex]);
            ForgetPlan();
            await next(step);
        }
    }

    public async Task ReportStageCompleted(int stageIndex, long generation, StageResult result)
    {
        if (stageIndex != S.StageIndex || generation != S.Generation || IsFinished) return;
        S.Completed.Add(result);
        await store.WriteTextAsync(ExperimentPaths.Metrics(Id), MetricsRow.ToJsonLines(_history));
        logger.LogInformation("Experiment {Id}: stage {Stage} completed in {Seconds:F1}s", Id, result.Stage, result.WallSeconds);
        if (stageIndex + 1 < S.TotalStages)
        {
            S.StageIndex = stageIndex + 1;
            _progress = null;
            if (_stopAsked)
            {
                await Finish(ExperimentState.Cancelled, $"cancelled by request after stage '{result.Stage}' completed");
                return;
            }
            await state.WriteStateAsync();
            ScheduleStageStart();
            return;
        }
        await Finish(ExperimentState.Succeeded, error: null);
    }

    public Task ReportStageFailed(int stageIndex, long generation, string error) =>
        stageIndex != S.StageIndex || generation != S.Generation || IsFinished
            ? Task.CompletedTask
            : RestartOrFail($"stage '{S.StageNames[stageIndex]}' failed: {error}");

    /// <summary>How long a planned move or stop waits for rank 0's checkpoint before going ahead from the last one.</summary>
    static readonly TimeSpan PlannedCheckpointPatience = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A planned move (drain, graceful stop): rank 0 writes a checkpoint at its next step boundary, and the stage
    /// re-forms from it when it is reported (<see cref="ReportCheckpoint"/>), so the move loses no steps. A stage that
    /// takes no such checkpoint moves at once; one that does not report within the patience moves from its last.
    /// </summary>
    public Task Reform(int stageIndex, string reason) =>
        stageIndex != S.StageIndex || _ring is null || IsFinished ? Task.CompletedTask
            : AfterCheckpoint(reason, "re-forms on other slots", overrides: false, _ => Restart());

    /// <summary>
    /// Asks rank 0 of the running stage for a checkpoint at its next step and runs <paramref name="then"/> when it is
    /// reported, or at once (with null) if rank 0 cannot take one, or after the patience (with null). A plan already
    /// waiting keeps its checkpoint request; <paramref name="overrides"/> says whether this plan replaces it (a stop
    /// does, a second move does not).
    /// </summary>
    /// <param name="optional">The plan is only worth it with the checkpoint (a grow-back): without one, nothing happens,
    /// and the result is false when rank 0 takes no checkpoint on request at all.</param>
    async Task<bool> AfterCheckpoint(string reason, string action, bool overrides, Func<int?, Task> then, bool optional = false)
    {
        string stage = S.StageNames[S.StageIndex];
        if (_afterCheckpoint is not null)
        {
            if (overrides) _afterCheckpoint = then;
            return true;
        }
        bool asked;
        try { asked = await Trainer(S.StageIndex, 0).CheckpointSoon().WaitAsync(TimeSpan.FromSeconds(10)); }
        catch (Exception e)
        {
            logger.LogWarning("Experiment {Id}: rank 0 of stage {Stage} could not be asked for a checkpoint: {Problem}", Id, stage, e.Message);
            asked = false;
        }
        if (IsFinished) return true; // a cancel or failure arrived while rank 0 was being asked
        if (!asked && optional)
        {
            logger.LogInformation("Experiment {Id}: {Reason}, but rank 0 of stage {Stage} takes no checkpoint on request; it stays as it is", Id, reason, stage);
            return false;
        }
        if (!asked)
        {
            logger.LogWarning("Experiment {Id}: {Reason}; stage {Stage} {Action} from its last checkpoint", Id, reason, stage, action);
            await then(null);
            return true;
        }
        logger.LogWarning("Experiment {Id}: {Reason}; stage {Stage} {Action} after rank 0's checkpoint at its next step", Id, reason, stage, action);
        _afterCheckpoint = then;
        long generation = S.Generation;
        _checkpointDeadline = this.RegisterGrainTimer(async _ =>
        {
            if (_afterCheckpoint is not { } late || S.Generation != generation || IsFinished) return;
            logger.LogWarning("Experiment {Id}: no checkpoint from rank 0 within {Seconds} s; stage {Stage} {What}",
                Id, PlannedCheckpointPatience.TotalSeconds, stage, optional ? "stays as it is" : "goes ahead from its last one");
            ForgetPlan();
            if (!optional) await late(null);
        }, new GrainTimerCreationOptions { DueTime = PlannedCheckpointPatience, Period = Timeout.InfiniteTimeSpan });
        return true;
    }

    /// <summary>Stops the stage's ranks, gives back their slots and starts it again as a new generation after <paramref name="delay"/>.</summary>
    async Task Restart(TimeSpan delay = default)
    {
        ForgetPlan();
        S.Generation++; // late reports of the ranks being stopped now are stale from here on
        await StopRanks();
        // The silo that died may have been the scheduler's: then this waits for the next start instead of aborting
        // the restart half-done (nothing would start the stage again, and the experiment would hang as running).
        _releaseOwed = !await ToldScheduler(scheduler => scheduler.Release(Id), "give back the stage's slots");
        MoveTo(ExperimentState.Pending);
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
        int budget = SpecParser.Parse(S.ResolvedSpecYaml, ExperimentPaths.Spec(Id)).MaxRestarts;
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

    public Task<RingMembership> JoinRing(int stageIndex, long generation, int rank, string endpoint)
    {
        if (_ring is null || stageIndex != S.StageIndex || generation != _ring.Generation || IsFinished)
            throw new InvalidOperationException($"rank {rank} of generation {generation} (stage index {stageIndex}) is stale: experiment '{Id}' " +
                (IsFinished ? $"is {S.State.ToString().ToLowerInvariant()}" : $"runs generation {S.Generation} of stage '{S.StageNames[S.StageIndex]}'"));
        if (rank < 0 || rank >= _ring.Endpoints.Length)
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"stage '{S.StageNames[stageIndex]}' has ranks 0..{_ring.Endpoints.Length - 1}");
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out _))
            throw new ArgumentException($"rank {rank} registered '{endpoint}', which is not an absolute URI", nameof(endpoint));
        _ring.Endpoints[rank] = endpoint;
        bool complete = _ring.Endpoints.All(e => e.Length > 0);
        return Task.FromResult(new RingMembership(_ring.Endpoints.ToArray(), complete ? _ring.Secret : "", generation));
    }

    bool IsFinished => S.State is ExperimentState.Succeeded or ExperimentState.Failed or ExperimentState.Cancelled or ExperimentState.Interrupted;

    /// <summary>
    /// A stored state that says pending or running, in a fresh activation, means the silo that drove the experiment
    /// stopped: record it as interrupted (resumable) and stop any rank still training for the old activation.
    /// </summary>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.Submission is null) return;
        // The curve so far, as last made durable (at each checkpoint and at the end of each stage).
        if (await store.ExistsAsync(ExperimentPaths.Metrics(Id), cancellationToken))
            _history.AddRange(MetricsRow.FromJsonLines(await store.ReadTextAsync(ExperimentPaths.Metrics(Id), cancellationToken)));
        if (S.State is not (ExperimentState.Pending or ExperimentState.Running)) return;
        string stage = S.StageNames[S.StageIndex];
        var spec = SpecParser.Parse(S.ResolvedSpecYaml, ExperimentPaths.Spec(Id));
        await StopAll(S.StageIndex, spec.Stages[S.StageIndex].Workers);
        if (S.Restarts < spec.MaxRestarts)
        {
            // The spec allows automatic restarts: carry on at once (the silo that drove it is gone, not the experiment).
            await RestartOrFail($"the silo driving stage '{stage}' stopped");
            return;
        }
        await Scheduler.Finished(Id);
        MoveTo(ExperimentState.Interrupted);
        S.Error = $"interrupted in stage '{stage}': the silo running it stopped; `tessera resume {Id}` continues from its last checkpoint";
        await state.WriteStateAsync();
        logger.LogWarning("Experiment {Id} was interrupted in stage {Stage} (its silo stopped); it can be resumed", Id, stage);
    }

    ITrainerGrain Trainer(int stageIndex, int rank) =>
        GrainFactory.GetGrain<ITrainerGrain>($"{Id}/{S.StageNames[stageIndex]}/{rank}");

    /// <summary>Asks every rank of the running stage to stop (a failed or cancelled experiment leaves none training).</summary>
    async Task StopRanks()
    {
        if (_ring is null) return;
        int stage = _ring.StageIndex, ranks = _ring.Endpoints.Length;
        _ring = null;
        await StopAll(stage, ranks);
    }

    /// <summary>
    /// Tells every rank of a stage to stop. A rank whose silo is gone cannot answer: that must not stop the others
    /// or what comes next (a restart), so each failure is logged, and the wait is bounded.
    /// </summary>
    async Task StopAll(int stageIndex, int ranks)
    {
        var stops = Enumerable.Range(0, ranks).Select(async rank =>
        {
            try { await Trainer(stageIndex, rank).Stop(); }
            catch (Exception e) { logger.LogWarning("Rank {Rank} of stage {Stage} did not confirm it stopped: {Problem}", rank, S.StageNames[stageIndex], e.Message); }
        });
        try { await Task.WhenAll(stops).WaitAsync(TimeSpan.FromSeconds(10)); }
        catch (TimeoutException) { logger.LogWarning("Some ranks of stage {Stage} did not answer within 10 s (their silo may be gone)", S.StageNames[stageIndex]); }
    }

    /// <summary>Starts the current stage in a turn of its own, so Submit and stage reports return at once.</summary>
    void ScheduleStageStart(TimeSpan delay = default)
    {
        _live = true;
        // While it drives a workflow this activation must not be collected as idle: a stage may report nothing for
        // a long while, and a fresh activation would take the experiment for interrupted.
        DelayDeactivation(TimeSpan.FromDays(7));
        if (_finishedRetry is not null)
        {
            // Resumed before the scheduler heard of the end: the start gives the old slots back itself, so no late
            // "finished" releases the new ones.
            _finishedRetry.Dispose();
            _finishedRetry = null;
            _releaseOwed = true;
        }
        _stageStarter?.Dispose();
        _stageStarter = this.RegisterGrainTimer(StartCurrentStage,
            new GrainTimerCreationOptions { DueTime = delay, Period = Timeout.InfiniteTimeSpan });
    }

    ISchedulerGrain Scheduler => GrainFactory.GetGrain<ISchedulerGrain>(0);

    /// <summary>How soon a queued stage asks the scheduler again.</summary>
    static readonly TimeSpan QueuedRetry = TimeSpan.FromSeconds(1);

    async Task StartCurrentStage(CancellationToken cancellationToken)
    {
        using var logScope = ExperimentLogScope.Begin(logger, Id, S.StageNames[S.StageIndex]);
        await KeepWakeReminder();
        try
        {
            ExperimentSpec spec = SpecParser.Parse(S.ResolvedSpecYaml, ExperimentPaths.Spec(Id));
            // All the stage's slots at once (or, with min_workers, at least that many), or stay queued (pending) and ask
            // again: never a ring short of the ranks it was started with.
            StageSpec stage = spec.Stages[S.StageIndex];
            int workers = stage.Workers;
            SlotGrant? slots = null;
            if (_releaseOwed) _releaseOwed = !await ToldScheduler(scheduler => scheduler.Release(Id), "give back the stage's slots");
            // Reserve is idempotent: an answer that came too late (a scheduler swamped by a burst, or on a silo that just
            // died) is asked for again.
            if (!_releaseOwed)
                await ToldScheduler(async scheduler => slots = await scheduler.Reserve(
                    new SlotRequest(Id, S.StageIndex, workers, spec.Priority, spec.Team, stage.Name, stage.MinWorkers)), "reserve slots");
            if (slots is null)
            {
                ScheduleStageStart(QueuedRetry);
                return;
            }
            // With fewer slots than workers, rank r of k runs workers r, r + k, ... and accumulates their gradients.
            int ranks = slots.Silos.Count;
            if (ranks < workers)
                logger.LogWarning("Stage {Stage}: {Ranks} of {Workers} slot(s) free, starting on {Ranks} rank(s) with gradient accumulation (min_workers {Min}) on {Silos}",
                    stage.Name, ranks, workers, ranks, stage.MinWorkers, string.Join(", ", slots.Silos));
            else
                logger.LogInformation("Stage {Stage}: {Ranks} slot(s) on {Silos}", stage.Name, ranks, string.Join(", ", slots.Silos));
            await datasets.PrepareAsync(spec.Dataset, GrainFactory, cancellationToken);
            MoveTo(ExperimentState.Running);
            S.StartedAt ??= DateTimeOffset.UtcNow;
            S.Generation++;
            await state.WriteStateAsync();
            _ring = new RingRendezvous(S.StageIndex, S.Generation, Enumerable.Repeat("", ranks).ToArray(),
                Convert.ToHexString(RandomNumberGenerator.GetBytes(32)));
            for (int rank = 0; rank < ranks; rank++)
            {
                using var placement = SlotPlacementDirector.On(slots.Silos[rank]);
                await Trainer(S.StageIndex, rank).Start(new TrainerAssignment(Id, S.StageIndex, S.ResolvedSpecYaml, rank, ranks, S.Generation));
            }
            if (ranks < workers) WatchForGrowBack(ranks, workers);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Experiment {Id}: stage {Stage} could not start", Id, S.StageNames[S.StageIndex]);
            await RestartOrFail($"stage '{S.StageNames[S.StageIndex]}' could not start: {e.Message}");
        }
    }

    /// <summary>How often a stage running on fewer ranks than its workers looks for the slots to grow back.</summary>
    static readonly TimeSpan GrowBackCheck = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A stage that started on fewer ranks than its workers (min_workers) grows back when the slots return: once the
    /// scheduler shows enough free slots and nobody queued for them (a waiting experiment comes first), rank 0 checkpoints
    /// at its next step and the stage re-forms, asking for all its workers again, like a drain's move. Stops with the
    /// generation it watches.
    /// </summary>
    void WatchForGrowBack(int ranks, int workers)
    {
        long generation = S.Generation;
        _growBack?.Dispose();
        _growBack = this.RegisterGrainTimer(async _ =>
        {
            if (S.Generation != generation || IsFinished || _ring is null)
            {
                _growBack?.Dispose();
                _growBack = null;
                return;
            }
            if (_afterCheckpoint is not null) return; // a move or stop is under way
            var snapshot = await Scheduler.Snapshot();
            long free = snapshot.Silos.Where(silo => !silo.Draining).Sum(silo => Math.Max(0L, (long)silo.Slots - silo.InUse)); // an embedded silo's are unlimited
            if (snapshot.Queue.Count > 0 || free < workers - ranks) return;
            // A stage that takes no checkpoint on request (tokenize, eval) would start its work over: it stays small.
            if (!await AfterCheckpoint($"{free} slot(s) free again for the {workers - ranks} missing worker(s)", $"grows back to {workers} ranks",
                    overrides: false, _ => Restart(), optional: true))
            {
                _growBack?.Dispose();
                _growBack = null;
            }
        }, new GrainTimerCreationOptions { DueTime = GrowBackCheck, Period = GrowBackCheck });
    }

    /// <summary>
    /// Makes one call to the scheduler; false, with a warning, if the scheduler cannot be reached (its silo just died
    /// and membership has not said so yet, or it did not answer in time). The caller decides when to try again.
    /// </summary>
    async Task<bool> ToldScheduler(Func<ISchedulerGrain, Task> call, string what)
    {
        try
        {
            await call(Scheduler);
            return true;
        }
        catch (Exception e) when (e is TimeoutException or OrleansMessageRejectionException)
        {
            logger.LogWarning("Experiment {Id}: could not {What}: the scheduler is unreachable ({Problem}); trying again", Id, what, e.Message);
            return false;
        }
    }

    /// <summary>Tells the scheduler the experiment finished, every few seconds until it hears it, so its slots are not lost.</summary>
    void RetryFinishedUntilHeard()
    {
        _finishedRetry?.Dispose();
        DelayDeactivation(TimeSpan.FromMinutes(30));
        _finishedRetry = this.RegisterGrainTimer(async _ =>
        {
            if (!await ToldScheduler(scheduler => scheduler.Finished(Id), "release the experiment's slots")) return;
            _finishedRetry?.Dispose();
            _finishedRetry = null;
        }, new GrainTimerCreationOptions { DueTime = QueuedRetry, Period = TimeSpan.FromSeconds(2) });
    }

    void ForgetPlan()
    {
        _afterCheckpoint = null;
        _checkpointDeadline?.Dispose();
        _checkpointDeadline = null;
    }

    async Task Finish(ExperimentState final, string? error)
    {
        ForgetPlan();
        _stopAsked = false;
        await DropWakeReminder();
        if (final != ExperimentState.Succeeded) await StopRanks();
        _ring = null;
        _live = false;
        _stageStarter?.Dispose();
        if (!await ToldScheduler(scheduler => scheduler.Finished(Id), "release the experiment's slots")) RetryFinishedUntilHeard();
        MoveTo(final);
        S.Error = error;
        S.FinishedAt = DateTimeOffset.UtcNow;
        await state.WriteStateAsync();
        // The curve so far, also when the experiment failed: a resumed run continues it.
        await store.WriteTextAsync(ExperimentPaths.Metrics(Id), MetricsRow.ToJsonLines(_history));
        await store.WriteTextAsync(ExperimentPaths.Summary(Id), ExperimentSummary.ToJson(Status()));
        logger.LogInformation("Experiment {Id} finished: {State}{Error}", Id, StateName(final), error is null ? "" : $" ({error})");
    }

    void MoveTo(ExperimentState next)
    {
        CountLoadedState();
        TesseraMetrics.ExperimentMoved(StateName(S.State), StateName(next), finished: next is not (ExperimentState.Pending or ExperimentState.Running));
        S.State = next;
    }

    /// <summary>A state loaded from storage was counted by the process that wrote it: count it here before moving it.</summary>
    void CountLoadedState()
    {
        if (_counted) return;
        _counted = true;
        TesseraMetrics.ExperimentMoved(null, StateName(S.State), finished: IsFinished);
    }

    static string StateName(ExperimentState s) => s.ToString().ToLowerInvariant();

    // ---- wake-up reminder ----------------------------------------------------------------------------------------
    // A live experiment keeps a reminder (Redis-backed in a cluster). If every silo stops, nothing would call the
    // experiment again until someone asks for it; the reminder activates it once the cluster is back, and activation
    // carries on (max_restarts) or records it as interrupted (see OnActivateAsync).

    const string WakeReminder = "wake";
    bool _reminderKept;

    async Task KeepWakeReminder()
    {
        if (_reminderKept) return;
        try
        {
            await this.RegisterOrUpdateReminder(WakeReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
            _reminderKept = true;
        }
        catch (Exception e) { logger.LogWarning("Experiment {Id}: could not keep its wake-up reminder: {Problem}", Id, e.Message); }
    }

    async Task DropWakeReminder()
    {
        try
        {
            if (await this.GetReminder(WakeReminder) is { } reminder) await this.UnregisterReminder(reminder);
            _reminderKept = false;
        }
        catch (Exception e) { logger.LogWarning("Experiment {Id}: could not drop its wake-up reminder: {Problem}", Id, e.Message); }
    }

    /// <summary>Activation did the work (a live activation ignores it); a finished experiment needs no more waking.</summary>
    public Task ReceiveReminder(string reminderName, TickStatus status) =>
        reminderName == WakeReminder && IsFinished && !_live ? DropWakeReminder() : Task.CompletedTask;

    /// <summary>Every call to this grain logs inside the experiment's scope, with the stage it is on when the call arrives.</summary>
    async Task IIncomingGrainCallFilter.Invoke(IIncomingGrainCallContext context)
    {
        // Status polls (dashboards, `bench api`) never log: they skip the scope's allocations.
        if (context.InterfaceMethod?.Name is nameof(GetStatus) or nameof(GetMetrics))
        {
            await context.Invoke();
            return;
        }
        using var logScope = ExperimentLogScope.Begin(logger, Id, S.Submission is null ? null : S.StageNames[S.StageIndex]);
        await context.Invoke();
    }

    ExperimentStatus Status() => new(
        Id, S.Name, S.State,
        S.State is ExperimentState.Pending or ExperimentState.Running ? S.StageNames[S.StageIndex] : null,
        _progress, S.Completed.ToList(), S.Error, S.Submission!.SubmittedAt, S.StartedAt, S.FinishedAt, S.TotalStages);
}

/// <summary>The ranks of one start of a stage: who has registered where, and the ring's secret.</summary>
sealed record RingRendezvous(int StageIndex, long Generation, string[] Endpoints, string Secret);
