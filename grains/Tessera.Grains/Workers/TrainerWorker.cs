using Tessera.Stages;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Tessera.Collective;
using Tessera.Infra.Specs;
using Tessera.Trainers;

namespace Tessera.Grains.Workers;

/// <summary>
/// Runs one stage on a dedicated thread: libtorch work stays off the Orleans scheduler and every step's
/// DisposeScope lives and dies on this one thread. Reports progress, then the result or the failure.
/// </summary>
public sealed class TrainerWorker(TrainerAssignment assignment, WorkerServices services, ILogger logger)
{
    readonly CancellationTokenSource _cancel = new();
    readonly CheckpointDemand _demand = new();
    volatile bool _interrupted;
    volatile string? _fault;
    Thread? _thread;

    public bool IsRunning => _thread is { IsAlive: true };

    /// <summary>Started, and its thread has ended since.</summary>
    public bool HasEnded => _thread is { IsAlive: false };

    /// <summary>Which rank of which start of which stage this worker runs.</summary>
    public TrainerAssignment Assignment => assignment;

    /// <summary>The start of the stage this worker belongs to (see <see cref="TrainerAssignment.Generation"/>).</summary>
    public long Generation => assignment.Generation;

    public void Start()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = $"tessera-worker-{assignment.ExperimentId}-{assignment.StageIndex}" };
        _thread.Start();
    }

    /// <summary>
    /// Stops the worker at the experiment's request (a cancel, a failure of another rank, a restart or a move). Nothing is
    /// reported back: the experiment has already moved on, so a report would be stale, and a blocking report could wait
    /// on the very grain turn that is waiting for this worker to stop (a restart starting this rank's next generation).
    /// </summary>
    public void Cancel() => _cancel.Cancel();

    /// <summary>
    /// Asks the training loop for a resumable checkpoint at its next step boundary (a drain); false if this worker's
    /// stage takes none (not rank 0, not a training stage, or not started yet).
    /// </summary>
    public bool RequestCheckpoint()
    {
        if (!_demand.Armed || !IsRunning) return false;
        _demand.Request();
        return true;
    }

    /// <summary>Told to stop (by <see cref="Cancel"/> or <see cref="Interrupt"/>).</summary>
    public bool IsStopping => _cancel.IsCancellationRequested;

    /// <summary>Stops the worker like <see cref="Cancel"/>, because its silo is going away, not the experiment.</summary>
    public void Interrupt()
    {
        _interrupted = true;
        _cancel.Cancel();
    }

    /// <summary>
    /// Fault injection (a silo started with it switched on): the worker fails at its next cancellation check as if
    /// its own code had thrown, and reports the failure like any crashed rank, so the experiment's restart path runs.
    /// </summary>
    public void InjectFault(string reason)
    {
        _fault = reason;
        _cancel.Cancel();
    }

    /// <summary>Completes when the worker thread has ended (or <paramref name="ct"/> fires first).</summary>
    public async Task WaitAsync(CancellationToken ct)
    {
        while (IsRunning && !ct.IsCancellationRequested)
            await Task.Delay(50, CancellationToken.None);
    }

    void Run()
    {
        var experiment = services.Grains.GetGrain<IExperimentGrain>(assignment.ExperimentId);
        ExperimentSpec spec = assignment.Spec;
        StageSpec stage = spec.Stages[assignment.StageIndex];
        bool leader = assignment.Rank == 0;
        using var logScope = ExperimentLogScope.Begin(logger, assignment.ExperimentId, stage.Name);
        var relay = new ProgressRelay(experiment, assignment.StageIndex, stage.Name, logger);
        var clock = Stopwatch.StartNew();
        RingCommunicator? ring = null;
        try
        {
            // Ranks of one silo share its cores (placement of one rank per slot comes with cluster mode).
            StageRunner.PrepareThread(services.Settings.TorchThreads, assignment.WorldSize);
            logger.LogInformation("Worker {Experiment}/{Stage} rank {Rank}/{WorldSize} starting", assignment.ExperimentId, stage.Name,
                assignment.Rank, assignment.WorldSize);
            if (assignment.WorldSize > 1)
                ring = RingRendezvousClient.Join(experiment, assignment, stage.Name, services.DataPlane,
                    TimeSpan.FromSeconds(stage.Double("peer_timeout_seconds")), _cancel.Token);
            var parallel = StageRunner.Parallelism(assignment.Rank, assignment.WorldSize, stage.Workers,
                ring is null ? null : new RingGradientReducer(ring, _cancel.Token), logger);
            // Only rank 0 reports progress and writes artifacts; the other ranks train in step with it.
            // The checkpoints embed the resolved spec as spec.yaml has it: written from the same records, so the same text.
            var context = new StageContext(assignment.ExperimentId, spec, stage, SpecWriter.ToYaml(spec), services.Store, services.Shards,
                leader ? relay : NoProgress.Instance, _cancel.Token, parallel, logger, relay.Checkpointed, _demand);
            StageOutcome outcome = StageRunner.RunOwningEveryTensor(context);
            relay.DrainAsync().GetAwaiter().GetResult();
            if (!leader) return;
            var result = new StageResult(stage.Name, outcome.Metrics, outcome.Artifacts, clock.Elapsed.TotalSeconds);
            experiment.ReportStageCompleted(assignment.StageIndex, assignment.Generation, result).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (_fault is { } fault)
        {
            logger.LogError("Worker {Experiment}/{Stage} rank {Rank} failed: {Fault}", assignment.ExperimentId, stage.Name, assignment.Rank, fault);
            ReportFailure(experiment, relay, $"rank {assignment.Rank}: {fault}");
        }
        // Told to stop, a rank also sees its peers' cancellation as a failed collective (CollectiveException): that
        // is the stop, not a failure to report.
        catch (Exception e) when (_cancel.IsCancellationRequested && _fault is null && (e is OperationCanceledException || e.InnerException is OperationCanceledException))
        {
            logger.LogInformation("Worker {Experiment}/{Stage} rank {Rank} stopped {How}", assignment.ExperimentId, stage.Name, assignment.Rank,
                _interrupted ? "with its silo (the experiment stays resumable)" : "on request");
            // The queued reports are one-way sends, which wait for no grain turn; draining also ends the stage's live
            // throughput series, so a stopped stage does not stay on /metrics at its last rate.
            relay.DrainAsync().GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            logger.LogError(e, "Worker {Experiment}/{Stage} rank {Rank} failed", assignment.ExperimentId, stage.Name, assignment.Rank);
            ReportFailure(experiment, relay, assignment.WorldSize > 1 ? $"rank {assignment.Rank}: {e.Message}" : e.Message);
        }
        finally
        {
            ring?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    void ReportFailure(IExperimentGrain experiment, ProgressRelay relay, string error)
    {
        try
        {
            relay.DrainAsync().GetAwaiter().GetResult();
            experiment.ReportStageFailed(assignment.StageIndex, assignment.Generation, error).GetAwaiter().GetResult();
        }
        catch (Exception reportError)
        {
            logger.LogError(reportError, "Could not report the failure of {Experiment}", assignment.ExperimentId);
        }
    }
}
