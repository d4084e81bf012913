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
    /// <summary>Written by this version: format 2 plus the downsample in config.json, every shape default resolved.</summary>
    public const string CheckpointFormat = "tessera.tokenizer/3";
    /// <summary>Multi-scale-capable checkpoints from before configurable downsampling; still read, as downsample 4.</summary>
    public const string CheckpointFormatV2 = "tessera.tokenizer/2";
    /// <summary>Single-scale EMA checkpoints from before multi-scale; still read (missing config fields take their defaults).</summary>
    public const string CheckpointFormatV1 = "tessera.vq-tokenizer/1";

    /// <summary>Formats 1 and 2 could only build this shape: 28x28 grayscale, two stride-2 stages; format 1 did not record the side.</summary>
    private const int LegacyDownsample = 4, LegacyImageSize = 28, LegacyImageChannels = 1;

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
        if (state.Format != CheckpointFormat && state.Format != CheckpointFormatV2 && state.Format != CheckpointFormatV1)
            throw new InvalidDataException($"checkpoint format '{state.Format}' is not one of '{CheckpointFormat}', '{CheckpointFormatV2}', '{CheckpointFormatV1}'");
        var config = CheckpointZip.ReadJson<VqTokenizerConfig>(zip, "config.json");
        // Older formats have no downsample field, and no image shape when written before the shape had no default;
        // every one of them was a 28x28 grayscale model with two stride-2 stages.
        if (state.Format != CheckpointFormat)
            config = config with
            {
                Downsample = LegacyDownsample,
                ImageSize = config.ImageSize == 0 ? LegacyImageSize : config.ImageSize,
                ImageChannels = config.ImageChannels == 0 ? LegacyImageChannels : config.ImageChannels,
            };
        return (state, config);
    }
}
