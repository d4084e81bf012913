using Microsoft.Extensions.Logging;
using Tessera.Infra.Storage;
using Tessera.Trainers.Generators;
using Tessera.Trainers.Tokenizers;

namespace Tessera.Stages;

/// <summary>Finds and loads the checkpoint a stage reference ("stage" or "experiment-id/stage") points at.</summary>
public static class StageCheckpoints
{
    public static (StageArtifacts Stage, ArtifactRef Checkpoint) Resolve(IArtifactStore store, string experimentId, string reference,
        CancellationToken ct)
    {
        var stage = StageArtifacts.Referenced(experimentId, reference);
        if (!store.ExistsAsync(stage.Checkpoint, ct).GetAwaiter().GetResult())
            throw new InvalidOperationException($"stage '{reference}' has no checkpoint at {stage.Checkpoint} in {store.Location}");
        return (stage, store.GetAsync(stage.Checkpoint, ct).GetAwaiter().GetResult());
    }

    /// <summary>Loads a tokenizer checkpoint (either kind) in eval mode; dispose it to free its tensors.</summary>
    public static TokenizerModel LoadTokenizer(IArtifactStore store, StageArtifacts stage, TorchSharp.torch.Device device, CancellationToken ct,
        ILogger? log = null)
    {
        using var stream = ReadVerified(store, stage, ct, log);
        return TokenizerCheckpoint.Load(stream, device, stage.Checkpoint);
    }

    /// <summary>
    /// A stage's final checkpoint, read whole and verified against the SHA-256 recorded when it was written. When its
    /// bytes are corrupt, the corruption is logged and the copy the stage kept in its resume slots
    /// (<see cref="StageResume.KeepFinal"/>: the same recorded hash) is read instead; with no good copy the
    /// <see cref="ArtifactCorruptException"/> about the final checkpoint stands.
    /// </summary>
    public static MemoryStream ReadVerified(IArtifactStore store, StageArtifacts stage, CancellationToken ct, ILogger? log = null)
    {
        try { return ReadWhole(store, stage.Checkpoint, ct); }
        catch (ArtifactCorruptException corrupt) when (StageResume.SlotHolding(store, stage, corrupt.ExpectedSha256, ct) is { } copy)
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

    /// <summary>Which tokenizer the generator of <paramref name="generator"/> was trained on (its lineage file).</summary>
    public static GeneratorLineage ReadLineage(IArtifactStore store, StageArtifacts generator, CancellationToken ct)
    {
        using var stream = store.OpenReadAsync(generator.Lineage, ct).GetAwaiter().GetResult();
        return System.Text.Json.JsonSerializer.Deserialize<GeneratorLineage>(stream) ?? throw new InvalidDataException($"{generator.Lineage}: empty");
    }

    /// <summary>
    /// Loads a generator checkpoint together with the exact tokenizer it was trained on (from its lineage file),
    /// refusing if that tokenizer changed since. Dispose both.
    /// </summary>
    public static (GeneratorTrainer Generator, TokenizerModel Tokenizer) LoadGenerator(IArtifactStore store, StageArtifacts generator,
        TorchSharp.torch.Device device, CancellationToken ct, ILogger? log = null)
    {
        string checkpointPath = generator.Checkpoint;
        GeneratorLineage lineage = ReadLineage(store, generator, ct);
        string tokenizerNow = store.GetAsync(lineage.TokenizerCheckpoint, ct).GetAwaiter().GetResult().Sha256;
        if (tokenizerNow != lineage.TokenizerSha256)
            throw new InvalidDataException($"{lineage.TokenizerCheckpoint} changed since the generator {checkpointPath} was trained " +
                $"({lineage.TokenizerSha256[..12]}… then, {tokenizerNow[..12]}… now)");

        var tokenizer = LoadTokenizer(store, lineage.Tokenizer, device, ct, log);
        try
        {
            using var stream = ReadVerified(store, generator, ct, log);
            return (GeneratorTrainer.LoadCheckpoint(stream, device, tokenizer.ScaleInputs, checkpointPath), tokenizer);
        }
        catch
        {
            tokenizer.Dispose();
            throw;
        }
    }
}
