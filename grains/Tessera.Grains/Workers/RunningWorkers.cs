using System.Collections.Concurrent;

namespace Tessera.Grains.Workers;

/// <summary>
/// The trainer workers this silo has started, so a silo started with fault injection switched on can find a rank to
/// fail (chaos tests, <c>POST /api/faults/kill-rank</c>). It only keeps track; it controls nothing by itself.
/// </summary>
public sealed class RunningWorkers
{
    readonly ConcurrentDictionary<TrainerWorker, byte> _workers = new();

    public void Add(TrainerWorker worker)
    {
        Prune();
        _workers[worker] = 0;
    }

    /// <summary>Workers whose thread is still alive, oldest generation first.</summary>
    public IReadOnlyList<TrainerWorker> Running()
    {
        Prune();
        return _workers.Keys.Where(w => w.IsRunning).OrderBy(w => w.Generation).ToList();
    }

    void Prune()
    {
        foreach (var worker in _workers.Keys)
            if (worker.HasEnded) _workers.TryRemove(worker, out _);
    }
}
