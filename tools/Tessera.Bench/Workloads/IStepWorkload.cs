using Tessera.Trainers;

namespace Tessera.Bench.Workloads;

/// <summary>
/// A training workload that `tessera-bench step` times: whole optimizer steps (forward, backward, optimizer) on
/// fixed random data of the right shape. Runs on the caller's thread.
/// </summary>
public interface IStepWorkload : IDisposable
{
    /// <summary>What runs, e.g. "ref-gpt" or "quickstart.yaml:generator".</summary>
    string Name { get; }

    /// <summary>Examples per step.</summary>
    int BatchSize { get; }

    /// <summary>Trainable parameters of the model (known by the first boundary of <see cref="Run"/> at the latest).</summary>
    long Parameters { get; }

    /// <summary>The settings that define the workload (shapes, optimizer, learning rate), for the JSON report.</summary>
    IReadOnlyDictionary<string, object> Settings { get; }

    /// <summary>Optimizer steps <see cref="Run"/> takes: fixed when the workload is built, since the project's trainers
    /// take their step count (and learning-rate schedule) from their configuration.</summary>
    int Steps { get; }

    /// <summary>
    /// Runs <see cref="Steps"/> optimizer steps (once per workload). Calls <paramref name="boundary"/> with k at the
    /// start of step k (0-based), before any of that step's work, so the time between two calls is one whole step.
    /// Returns the last step's loss.
    /// </summary>
    double Run(Action<int> boundary);
}
