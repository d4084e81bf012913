namespace Tessera.Trainers.Distributed;

/// <summary>
/// This rank's place in a data-parallel group. A trainer's <c>BatchSize</c> is the global batch: every rank draws
/// the same global batch from the seeded sampler and trains on its own equal slice of it, and the gradients are
/// averaged, so N ranks take the same steps as one rank would on the whole batch (up to rounding and per-rank
/// random draws such as dropout).
/// </summary>
public sealed record DataParallel(int Rank, int WorldSize, IGradientReducer Reducer)
{
    /// <summary>
    /// Joins this replica's <paramref name="parameters"/> to the group: every rank takes rank 0's weights now, and the
    /// returned sync averages gradients between backward and the optimizer step. Null (nothing to do) with one rank.
    /// </summary>
    public static GradientSync? Start(DataParallel? parallel, IEnumerable<TorchSharp.Modules.Parameter> parameters)
    {
        if (parallel is null) return null;
        var sync = new GradientSync(parameters, parallel.Reducer);
        sync.BroadcastParameters();
        return sync;
    }

    /// <summary>This rank's rows [Start, Start + Count) of a global batch of <paramref name="globalBatch"/>.</summary>
    public (int Start, int Count) Slice(int globalBatch) => SliceOf(globalBatch, Rank, WorldSize);

    /// <summary>Rows of rank <paramref name="rank"/> of <paramref name="worldSize"/>; the batch must split evenly, or the average would weight rows unequally.</summary>
    public static (int Start, int Count) SliceOf(int globalBatch, int rank, int worldSize)
    {
        if (worldSize < 1 || rank < 0 || rank >= worldSize)
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in 0..{worldSize - 1}");
        if (globalBatch % worldSize != 0)
            throw new ArgumentException($"batch_size {globalBatch} does not split evenly over {worldSize} workers");
        int count = globalBatch / worldSize;
        return (rank * count, count);
    }
}
