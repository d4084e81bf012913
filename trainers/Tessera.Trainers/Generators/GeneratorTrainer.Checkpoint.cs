using System.IO.Compression;
using static TorchSharp.torch;

namespace Tessera.Trainers.Generators;

/// <summary>
/// Checkpoints: one zip holding everything needed to resume or to sample: trainer.json (format, step, seed,
/// last loss), config.json (resolved hyperparameters), spec.txt (the resolved job spec as given), model.bin,
/// optimizer.bin (AdamW moments), rng.bin (the generator that drives class dropout).
/// </summary>
public sealed partial class GeneratorTrainer
{
    /// <summary>The format name predates VAR; config.json's "Model" says which kind (absent means gpt).</summary>
    public const string CheckpointFormat = "tessera.gpt-generator/1";

    /// <summary>
    /// Restores a trainer (model, optimizer, step, generator) from a checkpoint written by <see cref="ModelTrainer{TConfig, TModel}.SaveCheckpoint"/>;
    /// a VAR checkpoint needs <paramref name="scaleInputs"/> from the tokenizer it was trained on. A damaged checkpoint is a
    /// <see cref="CheckpointFormatException"/> naming <paramref name="name"/>.
    /// </summary>
    public static GeneratorTrainer LoadCheckpoint(Stream source, Device device, IScaleInputs? scaleInputs = null, string? name = null) =>
        CheckpointZip.Load(source, name, zip =>
        {
            var state = CheckpointZip.ReadJson<CheckpointHeader>(zip, "trainer.json");
            if (state.Format != CheckpointFormat)
                throw new InvalidDataException($"checkpoint format '{state.Format}' is not '{CheckpointFormat}'");
            var config = CheckpointZip.ReadJson<GeneratorConfig>(zip, "config.json");
            return CheckpointZip.Restore(new GeneratorTrainer(config, device, state.Seed, scaleInputs), trainer => trainer.RestoreFrom(zip, state));
        });
}
