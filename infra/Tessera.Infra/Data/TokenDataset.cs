using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Tessera.Infra.Storage;

namespace Tessera.Infra.Data;

/// <summary>
/// "tokens/&lt;dataset&gt;/&lt;key&gt;/manifest.json": a dataset tokenized by one tokenizer. The key is derived from
/// the SHA-256 of the tokenizer checkpoint and the scale schedule, so tokens from another tokenizer (or the
/// same weights with other scales) can never be mistaken for these.
/// </summary>
public sealed record TokenManifest(
    [property: JsonPropertyName("dataset")] string Dataset,
    [property: JsonPropertyName("tokenizerSha256")] string TokenizerSha256,
    [property: JsonPropertyName("scales")] IReadOnlyList<int> Scales,
    [property: JsonPropertyName("codebookSize")] int CodebookSize,
    [property: JsonPropertyName("classNames")] IReadOnlyList<string> ClassNames,
    [property: JsonPropertyName("train")] IReadOnlyList<ShardEntry> Train,
    [property: JsonPropertyName("heldout")] IReadOnlyList<ShardEntry> HeldOut)
{
    [JsonIgnore] public int Length => Scales.Sum(s => s * s);
}

/// <summary>Where the tokens of a dataset under one tokenizer live, and the checks that keep them honest.</summary>
public static class TokenDataset
{
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, RespectNullableAnnotations = true };

    /// <summary>16 hex characters of SHA-256("&lt;checkpoint sha256&gt;|&lt;scales&gt;"): short enough for a path, long enough to never collide here.</summary>
    public static string Key(string tokenizerSha256, IReadOnlyList<int> scales) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes($"{tokenizerSha256}|{string.Join(",", scales)}")))[..16];

    public static string Folder(string dataset, string tokenizerSha256, IReadOnlyList<int> scales) =>
        $"tokens/{dataset}/{Key(tokenizerSha256, scales)}";

    public static string ManifestPath(string dataset, string tokenizerSha256, IReadOnlyList<int> scales) =>
        $"{Folder(dataset, tokenizerSha256, scales)}/manifest.json";

    /// <summary>Writes every shard, then the manifest last: tokens without their manifest do not exist.</summary>
    public static async Task<TokenManifest> WriteAsync(IArtifactStore store, DatasetManifest images,
        IReadOnlyList<TokenShard> train, IReadOnlyList<TokenShard> heldOut, CancellationToken ct = default)
    {
        TokenShard first = train.Concat(heldOut).First();
        string folder = Folder(images.Name, first.TokenizerSha256, first.Scales);
        async Task<List<ShardEntry>> WriteSplit(string split, IReadOnlyList<TokenShard> shards)
        {
            var entries = new List<ShardEntry>();
            for (int i = 0; i < shards.Count; i++)
            {
                if (shards[i].TokenizerSha256 != first.TokenizerSha256 || !shards[i].Scales.SequenceEqual(first.Scales))
                    throw new ArgumentException("all token shards of one dataset must come from one tokenizer and scale schedule");
                var written = await store.WriteAsync($"{folder}/{split}-{i:D5}.tokens", new MemoryStream(shards[i].ToBytes()), ct);
                entries.Add(new ShardEntry(written.Path, written.Sha256, shards[i].Count));
            }
            return entries;
        }
        var manifest = new TokenManifest(images.Name, first.TokenizerSha256, first.Scales.ToArray(), first.CodebookSize,
            images.ClassNames, await WriteSplit("train", train), await WriteSplit("heldout", heldOut));
        await store.WriteAsync($"{folder}/manifest.json", new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(manifest, Json)), ct);
        return manifest;
    }

    public static Task<bool> ExistsAsync(IArtifactStore store, string dataset, string tokenizerSha256, IReadOnlyList<int> scales,
        CancellationToken ct = default) => store.ExistsAsync(ManifestPath(dataset, tokenizerSha256, scales), ct);

    /// <summary>
    /// The manifest of <paramref name="dataset"/> tokenized by exactly the tokenizer named; a missing one says
    /// which `tokenize` stage to run, and one made by another tokenizer is refused.
    /// </summary>
    public static async Task<TokenManifest> ReadManifestAsync(IArtifactStore store, string dataset, string tokenizerSha256,
        IReadOnlyList<int> scales, CancellationToken ct = default)
    {
        string path = ManifestPath(dataset, tokenizerSha256, scales);
        if (!await store.ExistsAsync(path, ct))
            throw new DataFormatException(path, $"dataset '{dataset}' has no tokens from tokenizer {tokenizerSha256[..12]}… with scales {string.Join(",", scales)}; run a `tokenize` stage with that tokenizer first");
        await using var stream = await store.OpenReadAsync(path, ct);
        TokenManifest? manifest;
        try { manifest = await JsonSerializer.DeserializeAsync<TokenManifest>(stream, Json, ct); }
        catch (JsonException e) { throw new DataFormatException(path, $"malformed token manifest: {e.Message}"); }
        if (manifest is null) throw new DataFormatException(path, "empty token manifest");
        CheckTokenizer(path, manifest.TokenizerSha256, manifest.Scales, tokenizerSha256, scales);
        return manifest;
    }

    /// <summary>Reads one token shard, verifying its SHA-256 and that it was made by the expected tokenizer.</summary>
    public static async Task<TokenShard> ReadShardAsync(IArtifactStore store, TokenManifest manifest, ShardEntry entry,
        CancellationToken ct = default)
    {
        // The store verifies the bytes against the hash it recorded as they are read; the manifest's hash must be that one.
        using var buffer = new MemoryStream();
        await using (var stream = await store.OpenReadAsync(entry.Path, ct))
            await stream.CopyToAsync(buffer, ct);
        string recorded = (await store.GetAsync(entry.Path, ct)).Sha256;
        if (recorded != entry.Sha256)
            throw new DataFormatException(entry.Path, $"checksum mismatch: the manifest records {entry.Sha256}, the store holds {recorded}");
        TokenShard shard = TokenShard.Parse(entry.Path, buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        CheckTokenizer(entry.Path, shard.TokenizerSha256, shard.Scales, manifest.TokenizerSha256, manifest.Scales);
        if (shard.Count != entry.Count)
            throw new DataFormatException(entry.Path, $"holds {shard.Count} sequences but the manifest records {entry.Count}");
        return shard;
    }

    static void CheckTokenizer(string path, string actualSha, IReadOnlyList<int> actualScales, string expectedSha, IReadOnlyList<int> expectedScales)
    {
        if (actualSha != expectedSha || !actualScales.SequenceEqual(expectedScales))
            throw new TokenizerMismatchException(path, expectedSha, expectedScales, actualSha, actualScales);
    }
}

/// <summary>Tokens made by one tokenizer were offered to a stage that names another.</summary>
public sealed class TokenizerMismatchException(string path, string expectedSha, IReadOnlyList<int> expectedScales,
    string actualSha, IReadOnlyList<int> actualScales)
    : DataFormatException(path, $"tokens were made by tokenizer {actualSha[..Math.Min(12, actualSha.Length)]}… (scales {string.Join(",", actualScales)}) but the stage names tokenizer {expectedSha[..Math.Min(12, expectedSha.Length)]}… (scales {string.Join(",", expectedScales)})");
