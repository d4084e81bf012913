using Microsoft.Extensions.Logging;
using Tessera.Infra.Storage;
using Tessera.Trainers.Generators;
using Tessera.Trainers.Tokenizers;

namespace Tessera.Stages;

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
    public static TokenizerModel LoadTokenizer(IArtifactStore store, string path, TorchSharp.torch.Device device, CancellationToken ct,
        ILogger? log = null)
    {
        using var stream = ReadVerified(store, path, ct, log);
        return TokenizerCheckpoint.Load(stream, device, path);
    }

    /// <summary>
    /// A stage's final checkpoint, read whole and verified against the SHA-256 recorded when it was written. When its
    /// bytes are corrupt, the corruption is logged and the copy the stage kept in its resume slots
    /// (<see cref="StageResume.KeepFinal"/>: the same recorded hash) is read instead; with no good copy the
    /// <see cref="ArtifactCorruptException"/> about the final checkpoint stands.
    /// </summary>
    public static MemoryStream ReadVerified(IArtifactStore store, string path, CancellationToken ct, ILogger? log = null)
    {
        try { return ReadWhole(store, path, ct); }
        catch (ArtifactCorruptException corrupt) when (Copy(store, path, corrupt.ExpectedSha256, ct) is { } copy)
        {
            log ??= Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
            log.LogWarning("{Problem}; using the copy of that checkpoint at {Copy}", corrupt.Message, copy);
            try { return ReadWhole(store, copy, ct); }
            catch (ArtifactCorruptException copyCorrupt)
            {
                log.LogWarning("The copy is corrupt too: {Problem}", copyCorrupt.Message);
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(corrupt);
                throw; // not reached
            }
        }
    }

    static MemoryStream ReadWhole(IArtifactStore store, string path, CancellationToken ct)
    {
        var buffer = new MemoryStream();
        using (var stream = store.OpenReadAsync(path, ct).GetAwaiter().GetResult())
            stream.CopyTo(buffer); // the verdict comes at the end of the stream: nothing is parsed before it
        buffer.Position = 0;
        return buffer;
    }

    /// <summary>The resume slot holding the same bytes as the final checkpoint at <paramref name="path"/> (experiment/checkpoints/stage.ckpt).</summary>
    static string? Copy(IArtifactStore store, string path, string sha256, CancellationToken ct)
    {
        string[] parts = path.Split('/');
        if (parts is not [var experiment, "checkpoints", var file] || !file.EndsWith(".ckpt", StringComparison.Ordinal)) return null;
        return StageResume.SlotHolding(store, experiment, file[..^".ckpt".Length], sha256, ct);
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
        TorchSharp.torch.Device device, CancellationToken ct, ILogger? log = null)
    {
        GeneratorLineage lineage = ReadLineage(store, checkpointPath, ct);
        string tokenizerNow = store.GetAsync(lineage.TokenizerCheckpoint, ct).GetAwaiter().GetResult().Sha256;
        if (tokenizerNow != lineage.TokenizerSha256)
            throw new InvalidDataException($"{lineage.TokenizerCheckpoint} changed since the generator {checkpointPath} was trained " +
                $"({lineage.TokenizerSha256[..12]}… then, {tokenizerNow[..12]}… now)");

        var tokenizer = LoadTokenizer(store, lineage.TokenizerCheckpoint, device, ct, log);
        try
        {
            using var stream = ReadVerified(store, checkpointPath, ct, log);
            return (GeneratorTrainer.LoadCheckpoint(stream, device, tokenizer.ScaleInputs, checkpointPath), tokenizer);
        }
        catch
        {
            tokenizer.Dispose();
            throw;
        }
    }
}
