namespace Tessera.Trainers.Distributed;

/// <summary>
/// This rank's place in a data-parallel group. A trainer's <c>BatchSize</c> is the global batch: every rank draws
/// the same global batch from the seeded sampler and trains on its own equal slices of it, and the gradients are
/// averaged, so N ranks take the same steps as one rank would on the whole batch (up to rounding and per-rank
/// random draws such as dropout).
///
/// The batch is cut into <see cref="Workers"/> slices (the spec's <c>workers</c>: virtual ranks). Normally every rank
/// runs one; a stage re-formed on fewer ranks than <c>workers</c> (<c>min_workers</c>) has rank r of k run the virtual
/// ranks r, r + k, r + 2k, ..., one micro-batch each, accumulating their gradients before the all-reduce
/// (<see cref="GradientAccumulation"/>), so the step is the same as with all the ranks.
/// </summary>
/// <param name="Workers">Virtual ranks (the spec's <c>workers</c>); 0 means <paramref name="WorldSize"/>: one each.</param>
public sealed record DataParallel(int Rank, int WorldSize, IGradientReducer Reducer, int Workers = 0)
{
    /// <summary>The slices each global batch is cut into: the spec's <c>workers</c>.</summary>
    public int VirtualWorld => Workers == 0 ? WorldSize : Workers;

    /// <summary>The virtual ranks this rank runs, in order: Rank, Rank + WorldSize, ... below <see cref="VirtualWorld"/>.</summary>
    public IReadOnlyList<int> VirtualRanks
    {
        get
        {
            if (WorldSize < 1 || Rank < 0 || Rank >= WorldSize)
                throw new ArgumentOutOfRangeException(nameof(Rank), Rank, $"rank must be in 0..{WorldSize - 1}");
            if (VirtualWorld < WorldSize)
                throw new ArgumentException($"{WorldSize} ranks for {VirtualWorld} workers: a stage runs at most one rank per worker");
            var ranks = new List<int>();
            for (int v = Rank; v < VirtualWorld; v += WorldSize) ranks.Add(v);
            return ranks;
        }
    }

    /// <summary>Whether this rank runs more than one slice per step.</summary>
    public bool Accumulates => VirtualWorld > WorldSize;

    /// <summary>
    /// Joins this replica's <paramref name="parameters"/> to the group: every rank takes rank 0's weights now, and the
    /// returned sync averages gradients between backward and the optimizer step. Null (nothing to do) with one rank,
    /// also when that rank runs several virtual ranks: it has no peers.
    /// </summary>
    public static GradientSync? Start(DataParallel? parallel, IEnumerable<TorchSharp.Modules.Parameter> parameters)
    {
        if (parallel is null || parallel.WorldSize == 1) return null;
        var sync = new GradientSync(parameters, parallel.Reducer);
        sync.BroadcastParameters();
        return sync;
    }

    /// <summary>This rank's slices of a global batch of <paramref name="globalBatch"/>, one per virtual rank, in order.</summary>
    public IReadOnlyList<(int Start, int Count)> Slices(int globalBatch) =>
        VirtualRanks.Select(v => SliceOf(globalBatch, v, VirtualWorld)).ToList();

    /// <summary>Rows of this rank in one step: its slices together.</summary>
    public int RowsPerStep(int globalBatch) => Slices(globalBatch).Sum(s => s.Count);

    /// <summary>Rows of virtual rank <paramref name="rank"/> of <paramref name="worldSize"/>; the batch must split evenly, or the average would weight rows unequally.</summary>
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

/// <summary>A rank with no peers (a stage re-formed on one rank): nothing to average or broadcast.</summary>
public sealed class SoloReducer : IGradientReducer
{
    public static SoloReducer Instance { get; } = new();
    public void AverageInPlace(Memory<float> buffer) { }
    public void BroadcastInPlace(Memory<float> buffer) { }
}
