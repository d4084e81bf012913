using System.IO.Compression;
using static TorchSharp.torch;


namespace Tessera.Trainers.Evaluation;

/// <summary>
/// Checkpoints: one zip holding everything needed to resume or to score samples: trainer.json (format, step, seed,
/// last loss), config.json (resolved hyperparameters), spec.txt (the resolved job spec as given), model.bin,
/// optimizer.bin (AdamW moments), rng.bin (the generator that draws batch shifts).
/// </summary>
public sealed partial class DigitClassifierTrainer
{
    /// <summary>Format 2: three conv stages and global average pooling, for images of any size.</summary>
    public const string CheckpointFormat = "tessera.digit-classifier/2";
    /// <summary>The 28x28-only classifier (a flattened 7x7 head); its weights do not fit format 2's layers.</summary>
    public const string CheckpointFormatV1 = "tessera.digit-classifier/1";

    /// <summary>Restores a trainer (model, optimizer, step, generator) from a checkpoint written by <see cref="ModelTrainer{TConfig, TModel}.SaveCheckpoint"/>.</summary>
    public static DigitClassifierTrainer LoadCheckpoint(Stream source, Device device, string? name = null) =>
        CheckpointZip.Load(source, name, zip =>
        {
            var state = CheckpointZip.ReadJson<CheckpointHeader>(zip, "trainer.json");
            if (state.Format == CheckpointFormatV1)
                throw new InvalidDataException($"checkpoint format '{state.Format}' is the 28x28-only classifier; retrain the classifier stage to get '{CheckpointFormat}'");
            if (state.Format != CheckpointFormat)
                throw new InvalidDataException($"checkpoint format '{state.Format}' is not '{CheckpointFormat}'");
            var config = CheckpointZip.ReadJson<DigitClassifierConfig>(zip, "config.json");
            return CheckpointZip.Restore(new DigitClassifierTrainer(config, device, state.Seed), trainer => trainer.RestoreFrom(zip, state));
        });
}
