using Tessera.Infra.Data;
using Tessera.Infra.Specs;
using Tessera.Infra.Storage;

namespace Tessera.Grains.Workers;

/// <summary>
/// Makes a spec's dataset ready before a stage starts: imports a builtin dataset into the store the first time,
/// then activates one shard grain per shard so every shard is loaded and verified once.
/// </summary>
public sealed class DatasetPreparer(IArtifactStore store)
{
    public async Task<DatasetManifest> PrepareAsync(DatasetSpec dataset, IGrainFactory grains, CancellationToken cancellationToken)
    {
        // Importing decompresses and shards a whole dataset: CPU work that must not run on the grain scheduler.
        DatasetManifest manifest = await Task.Run(() => dataset.IsBuiltin
            ? DatasetStore.EnsureBuiltinAsync(store, dataset.Name, dataset.Shards, cancellationToken)
            : DatasetStore.ReadManifestAsync(store, dataset.Name, cancellationToken), cancellationToken);

        var loads = new List<Task<ShardInfo>>();
        for (int i = 0; i < manifest.Train.Count; i++)
            loads.Add(grains.GetGrain<IDatasetShardGrain>(new ShardKey(dataset.Name, "train", i).ToString()).Load());
        for (int i = 0; i < manifest.HeldOut.Count; i++)
            loads.Add(grains.GetGrain<IDatasetShardGrain>(new ShardKey(dataset.Name, "heldout", i).ToString()).Load());
        await Task.WhenAll(loads);
        return manifest;
    }
}
