using Tessera.Infra.Data;
using Tessera.Infra.Storage;
using Tessera.Trainers;
using Tessera.Trainers.Generators;
using Tessera.Trainers.Inference;

namespace Tessera.Stages;

/// <summary>
/// Samples a finished experiment's generator (and the exact tokenizer it was trained on) from the artifact
/// store: what `tessera sample` runs, on the caller's thread.
/// </summary>
public static class RunSampler
{
    public static SampledImages Sample(IArtifactStore store, string experimentId, string generatorStage, IReadOnlyList<int> classes,
        int perClass, SamplingOptions options, long seed, string device, CancellationToken ct = default)
    {
        var generatorArtifacts = new StageArtifacts(experimentId, generatorStage);
        string checkpoint = generatorArtifacts.Checkpoint;
        if (!store.ExistsAsync(checkpoint, ct).GetAwaiter().GetResult())
            throw new InvalidOperationException($"experiment '{experimentId}' has no generator stage '{generatorStage}' checkpoint ({checkpoint} in {store.Location})");
        var (generator, tokenizer) = StageCheckpoints.LoadGenerator(store, generatorArtifacts, TorchRuntime.ResolveDevice(device), ct);
        using var _ = tokenizer;
        using (generator)
        {
            int classCount = generator.Config.Classes;
            foreach (int c in classes)
                if (c < 0 || c >= classCount) throw new ArgumentOutOfRangeException(nameof(classes), c, $"class must be in 0..{classCount - 1}");
            return ImageSampler.Generate(generator.Model, tokenizer, classes, perClass, options, seed, batchSize: 100, ct);
        }
    }
}
