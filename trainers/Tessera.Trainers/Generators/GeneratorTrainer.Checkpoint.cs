using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using static TorchSharp.torch;

namespace Tessera.Trainers.Generators;

/// <summary>
/// Checkpoints: one zip holding everything needed to resume or to sample, nothing outside it:
/// trainer.json (format, step, seed, last loss), config.json (the resolved hyperparameters), spec.txt (the
/// resolved job spec as given), model.bin (weights), optimizer.bin (AdamW moments),
/// rng.bin (state of the generator that drives class dropout).
/// </summary>
public sealed partial class GeneratorTrainer
{
    public const string CheckpointFormat = "tessera.gpt-generator/1";

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
    public static GeneratorTrainer LoadCheckpoint(Stream source, Device device)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var zip = new ZipArchive(source, ZipArchiveMode.Read, leaveOpen: true);
        var state = JsonSerializer.Deserialize<TrainerState>(ReadEntry(zip, "trainer.json"), Json)
            ?? throw new InvalidDataException("checkpoint trainer.json is empty");
        if (state.Format != CheckpointFormat)
            throw new InvalidDataException($"checkpoint format '{state.Format}' is not '{CheckpointFormat}'");
        var config = JsonSerializer.Deserialize<GptConfig>(ReadEntry(zip, "config.json"), Json)
            ?? throw new InvalidDataException("checkpoint config.json is empty");

        var trainer = new GeneratorTrainer(config, device, state.Seed);
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
