using System.Text.Json;
using Tessera.Infra.Data;
using Tessera.Infra.Storage;

namespace Tessera.Stages;

/// <summary>What stage runners read and write: cached shards of the spec's dataset, and recorded artifacts.</summary>
public static class StageData
{
    public static DatasetManifest Manifest(StageContext context) =>
        DatasetStore.ReadManifestAsync(context.Store, context.Spec.Dataset.Name, context.Cancellation).GetAwaiter().GetResult();

    /// <summary>Every image shard of a split ("train" or "heldout"), from this silo's cache.</summary>
    public static List<ImageShard> Images(StageContext context, DatasetManifest manifest, string split) =>
        Enumerable.Range(0, (split == "train" ? manifest.Train : manifest.HeldOut).Count)
            .Select(i => context.Shards.GetAsync(new ShardKey(manifest.Name, split, i), context.Cancellation).GetAwaiter().GetResult())
            .ToList();

    /// <summary>Every token shard of a split made by the named tokenizer; tokens of any other tokenizer are refused.</summary>
    public static List<TokenShard> Tokens(StageContext context, DatasetManifest manifest, string split, string tokenizerSha256, IReadOnlyList<int> scales) =>
        Enumerable.Range(0, (split == "train" ? manifest.Train : manifest.HeldOut).Count)
            .Select(i => context.Shards.GetTokensAsync(new ShardKey(manifest.Name, split, i), tokenizerSha256, scales, context.Cancellation).GetAwaiter().GetResult())
            .ToList();

    public static ArtifactRef Write(StageContext context, string path, byte[] content) =>
        context.Store.WriteAsync(path, new MemoryStream(content, writable: false), context.Cancellation).GetAwaiter().GetResult();

    public static ArtifactRef WriteJson<T>(StageContext context, string path, T value) =>
        Write(context, path, JsonSerializer.SerializeToUtf8Bytes(value, new JsonSerializerOptions { WriteIndented = true }));

    /// <summary>
    /// Writes a stage's final checkpoint, which the trainer serialises into memory first, so the store's write stays
    /// atomic. With <paramref name="resumableAtStep"/> the same bytes are kept as the stage's newest resumable checkpoint
    /// first (<see cref="StageResume.KeepFinal"/>): the good copy a corrupt final checkpoint falls back on.
    /// </summary>
    public static ArtifactRef WriteCheckpoint(StageContext context, Action<Stream> save, int? resumableAtStep = null)
    {
        using var buffer = new MemoryStream();
        save(buffer);
        byte[] content = buffer.ToArray();
        if (resumableAtStep is { } step) StageResume.KeepFinal(context, step, content);
        return Write(context, context.Artifacts.Checkpoint, content);
    }

    public static T ReadJson<T>(StageContext context, string path)
    {
        using var stream = context.Store.OpenReadAsync(path, context.Cancellation).GetAwaiter().GetResult();
        return JsonSerializer.Deserialize<T>(stream) ?? throw new InvalidDataException($"{path}: empty JSON");
    }
}
