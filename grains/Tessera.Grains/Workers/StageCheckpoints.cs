using Tessera.Infra.Storage;
using Tessera.Trainers.Generators;
using Tessera.Trainers.Tokenizers;

namespace Tessera.Grains.Workers;

/// <summary>Finds and loads the checkpoint a stage reference ("stage" or "experiment-id/stage") points at.</summary>
public static class StageCheckpoints
{
    public static (string Path, ArtifactRef Checkpoint) Resolve(IArtifactStore store, string experimentId, string reference,
        CancellationToken ct)
    {
        string[] parts = reference.Split('/');
        string path = parts.Length == 2
            ? ExperimentPaths.Checkpoint(parts[0], parts[1])
            : ExperimentPaths.Checkpoint(experimentId, reference);
        if (!store.ExistsAsync(path, ct).GetAwaiter().GetResult())
            throw new InvalidOperationException($"stage '{reference}' has no checkpoint at {path} in {store.Location}");
        return (path, store.GetAsync(path, ct).GetAwaiter().GetResult());
    }

    /// <summary>Loads a tokenizer checkpoint (either kind) in eval mode; dispose it to free its tensors.</summary>
    public static TokenizerModel LoadTokenizer(IArtifactStore store, string path, TorchSharp.torch.Device device, CancellationToken ct)
    {
        using var stream = store.OpenReadAsync(path, ct).GetAwaiter().GetResult();
        return TokenizerCheckpoint.Load(stream, device, path);
    }

    /// <summary>Which tokenizer the generator checkpoint at <paramref name="checkpointPath"/> was trained on (its lineage file).</summary>
    public static GeneratorLineage ReadLineage(IArtifactStore store, string checkpointPath, CancellationToken ct)
    {
        string lineagePath = checkpointPath.Replace(".ckpt", ".lineage.json", StringComparison.Ordinal);
        using var stream = store.OpenReadAsync(lineagePath, ct).GetAwaiter().GetResult();
        return System.Text.Json.JsonSerializer.Deserialize<GeneratorLineage>(stream) ?? throw new InvalidDataException($"{lineagePath}: empty");
    }

    /// <summary>
    /// Loads a generator checkpoint together with the exact tokenizer it was trained on (from its lineage file),
    /// refusing if that tokenizer changed since. Dispose both.
    /// </summary>
    public static (GeneratorTrainer Generator, TokenizerModel Tokenizer) LoadGenerator(IArtifactStore store, string checkpointPath,
        TorchSharp.torch.Device device, CancellationToken ct)
    {
        GeneratorLineage lineage = ReadLineage(store, checkpointPath, ct);
        string tokenizerNow = store.GetAsync(lineage.TokenizerCheckpoint, ct).GetAwaiter().GetResult().Sha256;
        if (tokenizerNow != lineage.TokenizerSha256)
            throw new InvalidDataException($"{lineage.TokenizerCheckpoint} changed since the generator {checkpointPath} was trained " +
                $"({lineage.TokenizerSha256[..12]}… then, {tokenizerNow[..12]}… now)");

        var tokenizer = LoadTokenizer(store, lineage.TokenizerCheckpoint, device, ct);
        try
        {
            using var stream = store.OpenReadAsync(checkpointPath, ct).GetAwaiter().GetResult();
            return (GeneratorTrainer.LoadCheckpoint(stream, device, tokenizer.ScaleInputs, checkpointPath), tokenizer);
        }
        catch
        {
            tokenizer.Dispose();
            throw;
        }
    }
}
