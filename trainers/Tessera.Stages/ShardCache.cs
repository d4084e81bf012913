using System.Collections.Concurrent;
using Tessera.Infra.Data;
using Tessera.Infra.Storage;

namespace Tessera.Stages;

/// <summary>Names one shard of one split of a dataset; also the key of its shard grain.</summary>
public sealed record ShardKey(string Dataset, string Split, int Index)
{
    public override string ToString() => $"{Dataset}/{Split}/{Index}";

    public static ShardKey Parse(string key)
    {
        string[] parts = key.Split('/');
        if (parts.Length != 3 || !int.TryParse(parts[2], out int index))
            throw new ArgumentException($"shard key '{key}' is not '<dataset>/<split>/<index>'");
        return new ShardKey(parts[0], parts[1], index);
    }
}

/// <summary>
/// The shards loaded in this silo, each read from the store and checksum-verified once. Workers read their
/// batches here, so pixels never travel through grain calls.
/// </summary>
public sealed class ShardCache(IArtifactStore store)
{
    readonly ConcurrentDictionary<ShardKey, Lazy<Task<ImageShard>>> _shards = new();
    readonly ConcurrentDictionary<(ShardKey, string Tokens), Lazy<Task<TokenShard>>> _tokens = new();

    public Task<ImageShard> GetAsync(ShardKey key, CancellationToken cancellationToken) =>
        _shards.GetOrAdd(key, k => new Lazy<Task<ImageShard>>(() => LoadAsync(k, cancellationToken))).Value;

    /// <summary>
    /// The token shard of one image shard under one tokenizer (checkpoint SHA-256 and scales), verified once.
    /// Tokens of another tokenizer are refused by <see cref="TokenDataset"/>, never served.
    /// </summary>
    public Task<TokenShard> GetTokensAsync(ShardKey key, string tokenizerSha256, IReadOnlyList<int> scales, CancellationToken cancellationToken)
    {
        var cacheKey = (key, TokenDataset.Key(tokenizerSha256, scales));
        return _tokens.GetOrAdd(cacheKey, k => new Lazy<Task<TokenShard>>(async () =>
        {
            try
            {
                var manifest = await TokenDataset.ReadManifestAsync(store, key.Dataset, tokenizerSha256, scales, cancellationToken);
                var entries = key.Split == "train" ? manifest.Train : manifest.HeldOut;
                if (key.Index < 0 || key.Index >= entries.Count)
                    throw new ArgumentException($"tokens of '{key.Dataset}' have no {key.Split} shard {key.Index} (they have {entries.Count})");
                return await TokenDataset.ReadShardAsync(store, manifest, entries[key.Index], cancellationToken);
            }
            catch
            {
                _tokens.TryRemove(cacheKey, out _);
                throw;
            }
        })).Value;
    }

    async Task<ImageShard> LoadAsync(ShardKey key, CancellationToken cancellationToken)
    {
        try
        {
            DatasetManifest manifest = await DatasetStore.ReadManifestAsync(store, key.Dataset, cancellationToken);
            IReadOnlyList<ShardEntry> entries = key.Split == "train" ? manifest.Train : manifest.HeldOut;
            if (key.Index < 0 || key.Index >= entries.Count)
                throw new ArgumentException($"dataset '{key.Dataset}' has no {key.Split} shard {key.Index} (it has {entries.Count})");
            return await DatasetStore.ReadShardAsync(store, entries[key.Index], cancellationToken);
        }
        catch
        {
            _shards.TryRemove(key, out _); // a failed load is retried by the next caller, not cached
            throw;
        }
    }
}
