using Tessera.Stages;
using Tessera.Grains.Workers;

namespace Tessera.Grains;

/// <summary>Loads one shard (images, or tokens of a named tokenizer) into its silo's <see cref="ShardCache"/>, once.</summary>
public sealed class DatasetShardGrain(ShardCache cache) : Grain, IDatasetShardGrain
{
    ShardKey Key => ShardKey.Parse(this.GetPrimaryKeyString());

    public Task<ShardInfo> Load() => Translated(async () =>
    {
        var shard = await cache.GetAsync(Key, CancellationToken.None);
        return new ShardInfo(Key.Dataset, Key.Split, Key.Index, shard.Count, shard.Channels, shard.Height, shard.Width);
    });

    public Task<TokenShardInfo> LoadTokens(string tokenizerSha256, int[] scales) => Translated(async () =>
    {
        var tokens = await cache.GetTokensAsync(Key, tokenizerSha256, scales, CancellationToken.None);
        return new TokenShardInfo(Key.Dataset, Key.Split, Key.Index, tokens.Count, tokens.Length, tokens.TokenizerSha256);
    });

    /// <summary>
    /// Data errors are the infra's own exception types, which Orleans cannot carry; the caller gets their
    /// message (file and problem) in an exception type every client can deserialize.
    /// </summary>
    static async Task<T> Translated<T>(Func<Task<T>> load)
    {
        try { return await load(); }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException || e.GetType().Namespace?.StartsWith("Tessera") == true)
        {
            throw new InvalidDataException(e.Message);
        }
    }
}
