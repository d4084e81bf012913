using Microsoft.Extensions.Logging;
using Tessera.Grains.Workers;
using Tessera.Infra.Specs;
using Tessera.Infra.Storage;
using Tessera.Stages;

namespace Tessera.Grains;

/// <summary>
/// Coordinates one experiment: validates the spec, runs its stages in order (each on trainer grains), restarts a failed
/// stage or fails the experiment, and writes spec.yaml, metrics.jsonl and summary.json. The state machine is here; the
/// running stage's ranks, the checkpoint plan, the metrics history, the scheduler link, the wake-up reminder and the
/// gauges are collaborators.
/// </summary>
public sealed partial class ExperimentGrain(
    [PersistentState("experiment", GrainStorage.Experiments)] IPersistentState<ExperimentGrainState> state,
    IArtifactStore store,
    DatasetPreparer datasets,
    ILogger<ExperimentGrain> logger) : Grain, IExperimentGrain, IIncomingGrainCallFilter, IRemindable
{
    // Live state is memory-only: it is rebuilt by the next report and not worth a storage write per step.
    StageProgress? _progress;
    IGrainTimer? _stageStarter;
    // A stop without lost steps was asked for: whatever comes first (the checkpoint, the stage's end, its failure) stops it.
    bool _stopAsked;
    // Whether this activation is driving the workflow. A state that says running in a fresh activation means the
    // silo that ran it stopped: the experiment was interrupted and can be resumed.
    bool _live;
    MetricsHistory _history = null!;
    StageRanks _ranks = null!;
    SchedulerLink _scheduler = null!;
    CheckpointPlan _plan = null!;
    WakeReminder _reminder = null!;
    readonly ExperimentGauges _gauges = new();

    string Id => this.GetPrimaryKeyString();
    ExperimentGrainState S => state.State;
    ExperimentSpec Spec => S.Spec!;
    string StageName => S.StageNames[S.StageIndex];
    bool IsFinished => S.State.IsFinished();

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
        await _scheduler.Scheduler.Register(new ExperimentListing(Id, spec.Experiment, submission.SubmittedAt, spec.Team));
        S.Submission = submission;
        S.Name = spec.Experiment;
        S.Spec = spec;
        S.ResolvedSpecYaml = SpecWriter.ToYaml(spec);
        S.State = ExperimentState.Pending;
        S.TotalStages = spec.Stages.Count;
        S.StageNames = spec.Stages.Select(s => s.Name).ToList();
        await state.WriteStateAsync();
        _gauges.Submitted(S.State);

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

    public Task<IReadOnlyList<MetricsPoint>> GetMetrics(int since) => Task.FromResult(_history.Since(since));

    public async Task<ExperimentStatus> Resume()
    {
        if (S.Submission is null) throw new KeyNotFoundException($"no experiment with id '{Id}'");
        if (S.State == ExperimentState.Succeeded)
            throw new InvalidOperationException($"experiment '{Id}' already succeeded; there is nothing to resume");
        if (_live)
        {
            logger.LogInformation("Experiment {Id}: resume asked while it runs (stage {Stage}); nothing to do", Id, StageName);
            return Status();
        }
        // Queued or running again: counted against the team's submission quota (a refusal changes nothing here).
        await _scheduler.Scheduler.Register(new ExperimentListing(Id, S.Name, S.Submission.SubmittedAt, Spec.Team));
        S.Restarts = 0; // a manual resume refills the automatic-restart budget
        string was = S.State.Name();
        _gauges.Resumed(S);
        S.Error = null;
        S.FinishedAt = null;
        await state.WriteStateAsync();
        logger.LogInformation("Experiment {Id} ({Was}) resumes at stage {Stage}; {Done} of {Total} stage(s) already done",
            Id, was, StageName, S.Completed.Count, S.TotalStages);
        ScheduleStageStart();
        return Status();
    }

    public Task ReportProgress(int stageIndex, StageProgress progress)
    {
        if (stageIndex != S.StageIndex || IsFinished) return Task.CompletedTask;
        _progress = progress;
        _history.Add(progress);
        logger.LogInformation("Step {Step}/{TotalSteps}: loss {Loss:F4}, {ImagesPerSecond:F0} images/s",
            progress.Step, progress.TotalSteps, progress.Loss, progress.ImagesPerSecond);
        return Task.CompletedTask;
    }

    public async Task ReportCheckpoint(int stageIndex, int step)
    {
        if (stageIndex != S.StageIndex || IsFinished) return;
        await _history.SaveAsync();
        if (_plan.TakeReported() is { } next)
        {
            logger.LogInformation("Experiment {Id}: checkpoint at step {Step} of stage {Stage} written for a planned move or stop", Id, step, StageName);
            await next(step);
        }
    }

    public async Task ReportStageCompleted(int stageIndex, long generation, StageResult result)
    {
        if (stageIndex != S.StageIndex || generation != S.Generation || IsFinished) return;
        S.Completed.Add(result);
        await _history.SaveAsync();
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

    public Task<RingMembership> JoinRing(int stageIndex, long generation, int rank, string endpoint) =>
        Task.FromResult(_ranks.Join(stageIndex, generation, rank, endpoint, stageOpen: stageIndex == S.StageIndex && !IsFinished,
            () => IsFinished ? $"is {S.State.Name()}" : $"runs generation {S.Generation} of stage '{StageName}'"));

    /// <summary>Activation did the work (a live activation ignores it); a finished experiment needs no more waking.</summary>
    public Task ReceiveReminder(string reminderName, TickStatus status) =>
        reminderName == WakeReminder.Name && IsFinished && !_live ? _reminder.Drop() : Task.CompletedTask;

    /// <summary>Every call to this grain logs inside the experiment's scope, with the stage it is on when the call arrives.</summary>
    async Task IIncomingGrainCallFilter.Invoke(IIncomingGrainCallContext context)
    {
        // Status polls (dashboards, `bench api`) never log: they skip the scope's allocations.
        if (context.InterfaceMethod?.Name is nameof(GetStatus) or nameof(GetMetrics))
        {
            await context.Invoke();
            return;
        }
        using var logScope = ExperimentLogScope.Begin(logger, Id, S.Submission is null ? null : StageName);
        await context.Invoke();
    }

    ExperimentStatus Status() => new(
        Id, S.Name, S.State,
        S.State is ExperimentState.Pending or ExperimentState.Running ? StageName : null,
        _progress, S.Completed.ToList(), S.Error, S.Submission!.SubmittedAt, S.StartedAt, S.FinishedAt, S.TotalStages);
}
