using Tessera.Infra.Storage;

namespace Tessera.Infra.Data;

/// <summary>How an imported dataset is split and sharded.</summary>
public sealed record ImportOptions
{
    /// <summary>Fraction of each class held out for evaluation, in [0, 1).</summary>
    public double HeldOutFraction { get; init; } = 0.1;

    /// <summary>Seed of the held-out choice; the same input, fraction and seed always give the same split.</summary>
    public ulong Seed { get; init; }

    /// <summary>Number of train shards (one per data-parallel rank is a good start).</summary>
    public int TrainShards { get; init; } = 1;
}

/// <summary>
/// The common tail of every import (`tessera data import`): split balanced by class, then write shards and
/// manifest through <see cref="DatasetStore"/>. Everything that can be checked is checked before the first
/// byte is written, so bad input or bad options leave the store untouched.
/// </summary>
public static class DatasetImporter
{
    public static async Task<DatasetManifest> ImportAsync(IArtifactStore store, string name, LabelledImages images,
        ImportOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(images);
        options ??= new ImportOptions();
        DatasetStore.ValidateName(name);
        // A user dataset under a builtin's name would be silently served in place of the builtin.
        if (DatasetStore.BuiltinNames.Contains(name))
            throw new ArgumentException($"dataset name '{name}' is reserved for a builtin dataset; choose another name", nameof(name));
        if (!(options.HeldOutFraction >= 0 && options.HeldOutFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(options), options.HeldOutFraction, "held-out fraction must be in [0, 1)");
        if (await DatasetStore.ExistsAsync(store, name, ct).ConfigureAwait(false))
            throw new InvalidOperationException($"dataset '{name}' already exists in {store.Location}");

        var split = DatasetSplit.Balanced(images, options.HeldOutFraction, options.Seed);
        if (options.TrainShards < 1 || options.TrainShards > split.Train.Count)
            throw new ArgumentOutOfRangeException(nameof(options), options.TrainShards,
                $"train shard count must be between 1 and {split.Train.Count} (the number of train images)");
        return await DatasetStore.WriteAsync(store, name, split.Train, split.HeldOut, options.TrainShards, ct).ConfigureAwait(false);
    }
}
