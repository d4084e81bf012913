using System.IO.Compression;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers.Tokenizers;

/// <summary>
/// Checkpoints: one zip holding everything needed to resume or to tokenize, nothing outside it:
/// trainer.json (format, step, seed, last loss), config.json (the resolved hyperparameters), spec.txt (the
/// resolved job spec as given), model.bin (weights and codebook buffers), optimizer.bin (AdamW moments),
/// rng.bin (state of the generator that drives dead-code restarts).
/// </summary>
public sealed partial class VqTokenizerTrainer
{
    /// <summary>Written by this version: format 1 plus the kind, quantizer and scale fields in config.json.</summary>
    public const string CheckpointFormat = "tessera.tokenizer/2";
    /// <summary>Single-scale EMA checkpoints from before multi-scale; still read (missing config fields take their defaults).</summary>
    public const string CheckpointFormatV1 = "tessera.vq-tokenizer/1";

    /// <summary>
    /// Restores a trainer (model, optimizer, step, generator) from a checkpoint written by <see cref="ModelTrainer{TConfig, TModel}.SaveCheckpoint"/>;
    /// a damaged one is a <see cref="CheckpointFormatException"/> naming <paramref name="name"/>.
    /// </summary>
    public static VqTokenizerTrainer LoadCheckpoint(Stream source, Device device, string? name = null) =>
        CheckpointZip.Load(source, name, zip =>
        {
            var (state, config) = ReadHeader(zip);
            return CheckpointZip.Restore(new VqTokenizerTrainer(config, device, state.Seed), trainer => trainer.RestoreFrom(zip, state));
        });

    /// <summary>Loads only the model of a checkpoint, ready to encode and decode (eval mode); the caller disposes it.</summary>
    public static TokenizerModel LoadModel(Stream source, Device device, string? name = null) =>
        CheckpointZip.Load(source, name, zip =>
        {
            var (state, config) = ReadHeader(zip);
            using var generator = new Generator((ulong)state.Seed); // initial weights, all overwritten by the load
            return CheckpointZip.Restore(CreateModel(config, generator), model =>
            {
                model.to(device);
                CheckpointZip.ReadWeights(zip, model);
                model.eval();
            });
        });

    private static (CheckpointHeader State, VqTokenizerConfig Config) ReadHeader(ZipArchive zip)
    {
        var state = CheckpointZip.ReadJson<CheckpointHeader>(zip, "trainer.json");
        if (state.Format != CheckpointFormat && state.Format != CheckpointFormatV1)
            throw new InvalidDataException($"checkpoint format '{state.Format}' is neither '{CheckpointFormat}' nor '{CheckpointFormatV1}'");
        var config = CheckpointZip.ReadJson<VqTokenizerConfig>(zip, "config.json");
        return (state, config);
    }
}
