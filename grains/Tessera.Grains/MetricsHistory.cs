using Tessera.Infra.Storage;
using Tessera.Stages;

namespace Tessera.Grains;

/// <summary>
/// An experiment's metrics history: every progress report in arrival order, served to pollers from memory and made
/// durable as metrics.jsonl at each checkpoint, at the end of each stage and when the experiment finishes.
/// </summary>
sealed class MetricsHistory(IArtifactStore store, string experimentId)
{
    readonly List<MetricsRow> _rows = [];

    string Path => ExperimentPaths.Metrics(experimentId);

    /// <summary>The curve so far, as last made durable: a resumed experiment continues it.</summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        if (await store.ExistsAsync(Path, cancellationToken))
            _rows.AddRange(MetricsRow.FromJsonLines(await store.ReadTextAsync(Path, cancellationToken)));
    }

    public Task SaveAsync() => store.WriteTextAsync(Path, MetricsRow.ToJsonLines(_rows));

    public void Add(StageProgress progress)
    {
        // A resumed stage repeats the steps after its last checkpoint: their new rows replace the lost ones.
        if (_rows.Count > 0 && _rows[^1].Stage == progress.Stage && _rows[^1].Step >= progress.Step)
            _rows.RemoveAll(row => row.Stage == progress.Stage && row.Step >= progress.Step);
        _rows.Add(new MetricsRow(progress.Stage, progress.Step, progress.Loss, progress.ImagesPerSecond,
            progress.Metrics, DateTimeOffset.UtcNow));
    }

    /// <summary>The rows from index <paramref name="since"/> on, numbered, for incremental polling.</summary>
    public IReadOnlyList<MetricsPoint> Since(int since)
    {
        int from = Math.Max(since, 0);
        return _rows.Skip(from)
            .Select((row, i) => new MetricsPoint(from + i, row.Stage, row.Step, row.Loss, row.ImagesPerSecond, row.Metrics, row.Time))
            .ToList();
    }
}
