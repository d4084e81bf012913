namespace Tessera.Infra.Data;

/// <summary>
/// Which samples make up each training batch, as a pure function of (dataset size, seed, position). Each
/// epoch visits every index exactly once in its own seeded order; a batch that runs past the end of an epoch
/// continues at the start of the next one. Because nothing depends on history, a run resumed from a
/// checkpoint's data position sees exactly the batches it would have seen without the interruption.
/// </summary>
public sealed class DeterministicSampler
{
    private readonly Lock _gate = new();
    // The two most recent epochs: a batch spans at most the end of one and the start of the next in practice.
    private (long Epoch, int[] Order)? _recent;
    private (long Epoch, int[] Order)? _older;

    public DeterministicSampler(int datasetSize, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(datasetSize);
        DatasetSize = datasetSize;
        Seed = seed;
    }

    public int DatasetSize { get; }
    public ulong Seed { get; }

    /// <summary>
    /// The <paramref name="batchSize"/> indices that start at <paramref name="position"/>, counted in samples
    /// since the first sample of epoch 0 (so epoch = position / size).
    /// </summary>
    public int[] Indices(long position, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var result = new int[batchSize];
        var epoch = position / DatasetSize;
        var offset = (int)(position % DatasetSize);
        var filled = 0;
        while (filled < batchSize)
        {
            var order = Order(epoch);
            var take = Math.Min(batchSize - filled, DatasetSize - offset);
            Array.Copy(order, offset, result, filled, take);
            filled += take;
            epoch++;
            offset = 0;
        }
        return result;
    }

    /// <summary>The same, addressed as (epoch, position within the epoch).</summary>
    public int[] Indices(long epoch, int positionInEpoch, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        if (positionInEpoch < 0 || positionInEpoch >= DatasetSize)
            throw new ArgumentOutOfRangeException(nameof(positionInEpoch), positionInEpoch, $"position must be in [0, {DatasetSize})");
        return Indices(checked(epoch * DatasetSize + positionInEpoch), batchSize);
    }

    /// <summary>Splits a global sample position into (epoch, position within the epoch).</summary>
    public (long Epoch, int PositionInEpoch) Locate(long position)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        return (position / DatasetSize, (int)(position % DatasetSize));
    }

    /// <summary>The visiting order of one epoch (a copy).</summary>
    public int[] Permutation(long epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        return (int[])Order(epoch).Clone();
    }

    private int[] Order(long epoch)
    {
        lock (_gate)
        {
            if (_recent is { } r && r.Epoch == epoch)
                return r.Order;
            if (_older is { } o && o.Epoch == epoch)
                return o.Order;
            var order = new int[DatasetSize];
            for (var i = 0; i < order.Length; i++)
                order[i] = i;
            new SplitMix64(SplitMix64.Derive(Seed, (ulong)epoch)).Shuffle(order);
            _older = _recent;
            _recent = (epoch, order);
            return order;
        }
    }
}
