namespace Tessera.Grains;

/// <summary>
/// One shard of a dataset (key: "{dataset}/{split}/{index}"). Loads the shard once from the artifact store
/// into its silo's shard cache, where workers on that silo read batches without crossing the control plane.
/// </summary>
public interface IDatasetShardGrain : IGrainWithStringKey
{
    /// <summary>Makes sure the shard is in this silo's cache (verifying its checksum) and describes it.</summary>
    Task<ShardInfo> Load();
}
