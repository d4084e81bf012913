using Tessera.Infra.Storage;
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
        return TokenizerCheckpoint.Load(stream, device);
    }
}
