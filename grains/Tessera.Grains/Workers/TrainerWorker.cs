using System.Diagnostics;
using Microsoft.Extensions.Logging;
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
    Thread? _thread;

    public bool IsRunning => _thread is { IsAlive: true };

    public void Start()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = $"tessera-worker-{assignment.ExperimentId}-{assignment.StageIndex}" };
        _thread.Start();
    }

    public void Cancel() => _cancel.Cancel();

    void Run()
    {
        var experiment = services.Grains.GetGrain<IExperimentGrain>(assignment.ExperimentId);
        ExperimentSpec spec = SpecParser.Parse(assignment.ResolvedSpecYaml, $"{assignment.ExperimentId}/spec.yaml");
        StageSpec stage = spec.Stages[assignment.StageIndex];
        using var logScope = ExperimentLogScope.Begin(logger, assignment.ExperimentId, stage.Name);
        var relay = new ProgressRelay(experiment, assignment.StageIndex, stage.Name, logger);
        var clock = Stopwatch.StartNew();
        try
        {
            TorchRuntime.Initialize(services.Settings.TorchThreads);
            logger.LogInformation("Worker {Experiment}/{Stage} rank {Rank} starting", assignment.ExperimentId, stage.Name, assignment.Rank);
            var context = new StageContext(assignment.ExperimentId, spec, stage, assignment.ResolvedSpecYaml, services, relay, _cancel.Token);
            StageOutcome outcome = stage.Kind switch
            {
                "tokenizer" => TokenizerStage.Run(context),
                "tokenize" => TokenizeStage.Run(context),
                "generator" => GeneratorStage.Run(context),
                "classifier" => ClassifierStage.Run(context),
                "eval" => EvalStage.Run(context),
                _ => throw new NotSupportedException($"stage kind '{stage.Kind}' has no worker"),
            };
            relay.DrainAsync().GetAwaiter().GetResult();
            var result = new StageResult(stage.Name, outcome.Metrics, outcome.Artifacts, clock.Elapsed.TotalSeconds);
            experiment.ReportStageCompleted(assignment.StageIndex, result).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
        {
            logger.LogInformation("Worker {Experiment}/{Stage} stopped on request", assignment.ExperimentId, stage.Name);
            ReportFailure(experiment, relay, "cancelled");
        }
        catch (Exception e)
        {
            logger.LogError(e, "Worker {Experiment}/{Stage} failed", assignment.ExperimentId, stage.Name);
            ReportFailure(experiment, relay, e.Message);
        }
    }

    void ReportFailure(IExperimentGrain experiment, ProgressRelay relay, string error)
    {
        try
        {
            relay.DrainAsync().GetAwaiter().GetResult();
            experiment.ReportStageFailed(assignment.StageIndex, error).GetAwaiter().GetResult();
        }
        catch (Exception reportError)
        {
            logger.LogError(reportError, "Could not report the failure of {Experiment}", assignment.ExperimentId);
        }
    }
}

/// <summary>What a stage runner gets: the spec, its stage, the silo's services, progress and cancellation.</summary>
public sealed record StageContext(string ExperimentId, ExperimentSpec Spec, StageSpec Stage, string ResolvedSpecYaml,
    WorkerServices Services, IProgress<TrainingProgress> Progress, CancellationToken Cancellation);

/// <summary>A finished stage's headline metrics and the artifacts it wrote.</summary>
public sealed record StageOutcome(IReadOnlyDictionary<string, double> Metrics, IReadOnlyList<ArtifactInfo> Artifacts);
