using System.Text.Json;
using System.Text.Json.Serialization;
using Tessera.Infra.Storage;

namespace Tessera.Infra.Data;

/// <summary>One shard as the manifest references it: where it is, its SHA-256 and how many images it holds.</summary>
public sealed record ShardEntry(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("sha256")] string Sha256,
    [property: JsonPropertyName("count")] int Count);

/// <summary>
/// "datasets/&lt;name&gt;/manifest.json": what a dataset is made of. It is written after every shard it lists,
/// so its presence is what makes a dataset exist, and the checksums it records are checked on every read.
/// </summary>
public sealed record DatasetManifest(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("classNames")] IReadOnlyList<string> ClassNames,
    [property: JsonPropertyName("channels")] int Channels,
    [property: JsonPropertyName("height")] int Height,
    [property: JsonPropertyName("width")] int Width,
    [property: JsonPropertyName("train")] IReadOnlyList<ShardEntry> Train,
    [property: JsonPropertyName("heldout")] IReadOnlyList<ShardEntry> HeldOut)
{
    public const int CurrentFormat = 1;

    [JsonPropertyName("format")]
    public int Format { get; init; } = CurrentFormat;

    [JsonIgnore]
    public int TrainCount => Train.Sum(s => s.Count);

    [JsonIgnore]
    public int HeldOutCount => HeldOut.Sum(s => s.Count);

    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        // Missing or null members become errors here instead of NullReferenceExceptions later.
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    };

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, Options);

    /// <summary>Parses and checks a manifest; problems are <see cref="DataFormatException"/>s naming <paramref name="file"/>.</summary>
    public static DatasetManifest Parse(string file, ReadOnlySpan<byte> json)
    {
        DatasetManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<DatasetManifest>(json, Options);
        }
        catch (JsonException e)
        {
            throw new DataFormatException(file, $"malformed manifest: {e.Message}");
        }
        if (manifest is null)
            throw new DataFormatException(file, "malformed manifest: it is null");
        manifest.Check(file);
        return manifest;
    }

    /// <summary>Semantic checks that JSON typing cannot express.</summary>
    public void Check(string file)
    {
        if (Format != CurrentFormat)
            throw new DataFormatException(file, $"manifest format {Format} is not supported (expected {CurrentFormat})");
        if (ClassNames.Count == 0)
            throw new DataFormatException(file, "manifest lists no class names");
        if (Channels is not (1 or 3) || Height <= 0 || Width <= 0)
            throw new DataFormatException(file, $"invalid image shape {Channels}x{Height}x{Width}");
        if (Train.Count == 0)
            throw new DataFormatException(file, "manifest lists no train shards");
        foreach (var shard in Train.Concat(HeldOut))
        {
            if (shard.Count <= 0)
                throw new DataFormatException(file, $"shard '{shard.Path}' has count {shard.Count}");
            if (ArtifactPath.Problem(shard.Path) is { } problem)
                throw new DataFormatException(file, $"shard path '{shard.Path}' is invalid: {problem}");
            if (!shard.Path.StartsWith($"datasets/{Name}/", StringComparison.Ordinal))
                throw new DataFormatException(file, $"shard '{shard.Path}' lies outside datasets/{Name}/");
            if (shard.Sha256.Length != 64 || !shard.Sha256.All(char.IsAsciiHexDigitLower))
                throw new DataFormatException(file, $"shard '{shard.Path}' has an invalid sha256 '{shard.Sha256}'");
        }
    }
}
