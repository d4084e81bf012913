namespace Tessera.Grains;

/// <summary>
/// One shard of a dataset (key: "{dataset}/{split}/{index}"). Loads the shard once from the artifact store
/// into its silo's shard cache, where workers on that silo read batches without crossing the control plane.
/// </summary>
public interface IDatasetShardGrain : IGrainWithStringKey
{
    /// <summary>Makes sure the shard is in this silo's cache (verifying its checksum) and describes it.</summary>
    Task<ShardInfo> Load();

    /// <summary>
    /// Makes sure this shard's tokens from the named tokenizer (checkpoint SHA-256 and scale schedule) are in the
    /// silo's cache; tokens made by any other tokenizer are refused with an error naming both.
    /// </summary>
    Task<TokenShardInfo> LoadTokens(string tokenizerSha256, int[] scales);
}
