using Tessera.Stages;
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
        if (dataset.IsBuiltin && !await DatasetStore.ExistsAsync(store, dataset.Name, cancellationToken))
            await ImportOnce(dataset, grains, cancellationToken);
        DatasetManifest manifest = await DatasetStore.ReadManifestAsync(store, dataset.Name, cancellationToken);

        var loads = new List<Task<ShardInfo>>();
        for (int i = 0; i < manifest.Train.Count; i++)
            loads.Add(grains.GetGrain<IDatasetShardGrain>(new ShardKey(dataset.Name, "train", i).ToString()).Load());
        for (int i = 0; i < manifest.HeldOut.Count; i++)
            loads.Add(grains.GetGrain<IDatasetShardGrain>(new ShardKey(dataset.Name, "heldout", i).ToString()).Load());
        await Task.WhenAll(loads);
        return manifest;
    }

    /// <summary>
    /// The cluster's one import of a builtin dataset. It can outlast a grain call's timeout on a busy machine; the import
    /// goes on regardless, so a call that timed out is made again until it returns (at once, once the import is done).
    /// </summary>
    static async Task ImportOnce(DatasetSpec dataset, IGrainFactory grains, CancellationToken cancellationToken)
    {
        var importer = grains.GetGrain<IDatasetImportGrain>(dataset.Name);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await importer.EnsureBuiltin(dataset.Shards);
                return;
            }
            catch (TimeoutException) when (attempt < 20 && !cancellationToken.IsCancellationRequested) { }
        }
    }
}
