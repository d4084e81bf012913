using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
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

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = true,
    };

    private sealed record TrainerState(string Format, int Step, long Seed, double LastLoss);

    /// <summary>Writes a self-contained checkpoint (a zip) to <paramref name="destination"/>, which stays open.</summary>
    public void SaveCheckpoint(Stream destination, string resolvedSpec)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(resolvedSpec);
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var zip = new ZipArchive(destination, ZipArchiveMode.Create, leaveOpen: true);
        WriteEntry(zip, "trainer.json", JsonSerializer.SerializeToUtf8Bytes(new TrainerState(CheckpointFormat, Step, Seed, LastLoss), Json));
        WriteEntry(zip, "config.json", JsonSerializer.SerializeToUtf8Bytes(Config, Json));
        WriteEntry(zip, "spec.txt", Encoding.UTF8.GetBytes(resolvedSpec));
        WriteEntry(zip, "model.bin", Capture(s => _model.save(s)));
        WriteEntry(zip, "optimizer.bin", Capture(s =>
        {
            using var writer = new BinaryWriter(s, Encoding.UTF8, leaveOpen: true);
            _optimizer.save_state_dict(writer);
        }));
        using var state = _generator.get_state();
        WriteEntry(zip, "rng.bin", state.data<byte>().ToArray());
    }

    /// <summary>Restores a trainer (model, optimizer, step, generator) from a checkpoint written by <see cref="SaveCheckpoint"/>.</summary>
    public static VqTokenizerTrainer LoadCheckpoint(Stream source, Device device)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var zip = new ZipArchive(source, ZipArchiveMode.Read, leaveOpen: true);
        var (state, config) = ReadHeader(zip);

        var trainer = new VqTokenizerTrainer(config, device, state.Seed);
        try
        {
            using (var model = new MemoryStream(ReadEntry(zip, "model.bin")))
                trainer._model.load(model);
            using (var optimizer = new MemoryStream(ReadEntry(zip, "optimizer.bin")))
            using (var reader = new BinaryReader(optimizer))
                trainer._optimizer.load_state_dict(reader);
            var rng = ReadEntry(zip, "rng.bin");
            using (var rngState = tensor(rng, new long[] { rng.Length }, dtype: ScalarType.Byte))
                trainer._generator.set_state(rngState);
            trainer.Step = state.Step;
            trainer.LastLoss = state.LastLoss;
            trainer.ResolvedSpec = Encoding.UTF8.GetString(ReadEntry(zip, "spec.txt"));
            return trainer;
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
    }

    /// <summary>Loads only the model of a checkpoint, ready to encode and decode (eval mode); the caller disposes it.</summary>
    public static TokenizerModel LoadModel(Stream source, Device device)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var zip = new ZipArchive(source, ZipArchiveMode.Read, leaveOpen: true);
        var (state, config) = ReadHeader(zip);
        using var generator = new Generator((ulong)state.Seed); // initial weights, all overwritten by the load
        var model = CreateModel(config, generator);
        try
        {
            model.to(device);
            using (var weights = new MemoryStream(ReadEntry(zip, "model.bin")))
                model.load(weights);
            model.eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static (TrainerState State, VqTokenizerConfig Config) ReadHeader(ZipArchive zip)
    {
        var state = JsonSerializer.Deserialize<TrainerState>(ReadEntry(zip, "trainer.json"), Json)
            ?? throw new InvalidDataException("checkpoint trainer.json is empty");
        if (state.Format != CheckpointFormat && state.Format != CheckpointFormatV1)
            throw new InvalidDataException($"checkpoint format '{state.Format}' is neither '{CheckpointFormat}' nor '{CheckpointFormatV1}'");
        var config = JsonSerializer.Deserialize<VqTokenizerConfig>(ReadEntry(zip, "config.json"), Json)
            ?? throw new InvalidDataException("checkpoint config.json is empty");
        return (state, config);
    }

    private static byte[] Capture(Action<Stream> write)
    {
        using var buffer = new MemoryStream();
        write(buffer);
        return buffer.ToArray();
    }

    private static void WriteEntry(ZipArchive zip, string name, byte[] content)
    {
        using var stream = zip.CreateEntry(name, CompressionLevel.Fastest).Open();
        stream.Write(content);
    }

    private static byte[] ReadEntry(ZipArchive zip, string name)
    {
        var entry = zip.GetEntry(name) ?? throw new InvalidDataException($"checkpoint has no {name}");
        using var stream = entry.Open();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}
