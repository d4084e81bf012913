using Tessera.Grains.Workers;

namespace Tessera.Grains;

/// <summary>Loads one shard into its silo's <see cref="ShardCache"/>, once, and describes it.</summary>
public sealed class DatasetShardGrain(ShardCache cache) : Grain, IDatasetShardGrain
{
    public async Task<ShardInfo> Load()
    {
        var key = ShardKey.Parse(this.GetPrimaryKeyString());
        var shard = await cache.GetAsync(key, CancellationToken.None);
        return new ShardInfo(key.Dataset, key.Split, key.Index, shard.Count, shard.Channels, shard.Height, shard.Width);
    }
}
