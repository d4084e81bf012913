using System.IO.Compression;
using System.Runtime.InteropServices;
using Tessera.Infra.Data;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers;

/// <summary>The header every trainer checkpoint starts with (trainer.json).</summary>
internal sealed record CheckpointHeader(string Format, int Step, long Seed, double LastLoss);

/// <summary>
/// Entries of a zip checkpoint, written and read whole; shared by every trainer. A trainer checkpoint holds
/// trainer.json (<see cref="CheckpointHeader"/>), config.json, spec.txt (the resolved spec), model.bin,
/// optimizer.bin and rng.bin (the trainer's explicit generator).
/// </summary>
internal static class CheckpointZip
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = true,
        // A null where the config has none becomes a JsonException here, not a NullReferenceException in Validate.
        RespectNullableAnnotations = true,
    };

    /// <summary>
    /// Opens <paramref name="source"/> as a checkpoint zip and reads it with <paramref name="read"/>. Whatever is wrong
    /// with the bytes (not a zip, a missing or malformed entry, a config out of range, weights of other shapes) comes
    /// out as <see cref="CheckpointFormatException"/> naming <paramref name="name"/>; a corrupt artifact as the store's
    /// <see cref="Tessera.Infra.Storage.ArtifactCorruptException"/>.
    /// </summary>
    public static T Load<T>(Stream source, string? name, Func<ZipArchive, T> read)
    {
        ArgumentNullException.ThrowIfNull(source);
        string what = name ?? (source as FileStream)?.Name ?? "checkpoint";
        try
        {
            using var zip = new ZipArchive(source, ZipArchiveMode.Read, leaveOpen: true);
            return read(zip);
        }
        // A VAR checkpoint loaded without its tokenizer's scale inputs is the caller's mistake, not the file's.
        catch (Exception e) when (e is not DataFormatException and not ArgumentException { ParamName: "scaleInputs" }
            && e is InvalidDataException or JsonException or EndOfStreamException or ArgumentException or FormatException
                or OverflowException or NotSupportedException or ExternalException)
        {
            throw new CheckpointFormatException(what, e.Message, e);
        }
    }

    public static byte[] Capture(Action<Stream> write)
    {
        using var buffer = new MemoryStream();
        write(buffer);
        return buffer.ToArray();
    }

    public static void Write(ZipArchive zip, string name, byte[] content)
    {
        using var stream = zip.CreateEntry(name, CompressionLevel.Fastest).Open();
        stream.Write(content);
    }

    public static byte[] Read(ZipArchive zip, string name)
    {
        var entry = zip.GetEntry(name) ?? throw new InvalidDataException($"checkpoint has no {name}");
        using var stream = entry.Open();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    public static T ReadJson<T>(ZipArchive zip, string name) =>
        JsonSerializer.Deserialize<T>(Read(zip, name), Json) ?? throw new InvalidDataException($"checkpoint {name} is empty");

    public static void WriteJson<T>(ZipArchive zip, string name, T value) =>
        Write(zip, name, JsonSerializer.SerializeToUtf8Bytes(value, Json));

    /// <summary>
    /// Writes the whole trainer as a zip to <paramref name="destination"/> (left open): header, resolved config and spec,
    /// weights, optimizer moments, generator state. Weights holding a NaN or infinity are refused
    /// (<see cref="NonFiniteWeightsException"/>) before a byte is written.
    /// </summary>
    public static void WriteTrainer<TConfig>(Stream destination, CheckpointHeader header, TConfig config, string resolvedSpec,
        nn.Module model, TorchSharp.Modules.AdamW optimizer, Generator generator)
    {
        NonFiniteGuard.RequireFinite(model, $"a {header.Format} checkpoint at step {header.Step}");
        using var zip = new ZipArchive(destination, ZipArchiveMode.Create, leaveOpen: true);
        WriteJson(zip, "trainer.json", header);
        WriteJson(zip, "config.json", config);
        Write(zip, "spec.txt", Encoding.UTF8.GetBytes(resolvedSpec));
        WriteWeights(zip, model);
        WriteOptimizer(zip, optimizer);
        WriteGenerator(zip, "rng.bin", generator);
    }

    public static void WriteOptimizer(ZipArchive zip, TorchSharp.Modules.AdamW optimizer) =>
        Write(zip, "optimizer.bin", Capture(s =>
        {
            using var writer = new BinaryWriter(s, Encoding.UTF8, leaveOpen: true);
            optimizer.save_state_dict(writer);
        }));

    public static void ReadOptimizer(ZipArchive zip, TorchSharp.Modules.AdamW optimizer)
    {
        using var moments = new MemoryStream(Read(zip, "optimizer.bin"));
        using var reader = new BinaryReader(moments);
        optimizer.load_state_dict(reader);
    }

    public static void WriteGenerator(ZipArchive zip, string name, Generator generator)
    {
        using var state = generator.get_state();
        WriteGeneratorState(zip, name, state);
    }

    /// <summary>A generator state (torch's global one, say) as <paramref name="name"/>; <see cref="ReadGeneratorState"/> reads it back.</summary>
    public static void WriteGeneratorState(ZipArchive zip, string name, Tensor state) => Write(zip, name, state.data<byte>().ToArray());

    /// <summary>
    /// The generator state saved as <paramref name="name"/>, checked to be the size of <paramref name="current"/> (a state
    /// of the generator it will go into): libtorch aborts the whole process (an uncaught c10::Error in set_state) on a
    /// state of the wrong size. Dispose the tensor.
    /// </summary>
    public static Tensor ReadGeneratorState(ZipArchive zip, string name, Tensor current)
    {
        var bytes = Read(zip, name);
        if (bytes.Length != current.numel())
            throw new InvalidDataException($"{name} holds {bytes.Length} bytes, a generator state is {current.numel()}");
        return tensor(bytes, new long[] { bytes.Length }, dtype: ScalarType.Byte);
    }

    /// <summary>Restores weights, optimizer moments and generator state into a freshly built trainer's parts.</summary>
    public static void ReadTrainer(ZipArchive zip, nn.Module model, TorchSharp.Modules.AdamW optimizer, Generator generator)
    {
        ReadWeights(zip, model);
        ReadOptimizer(zip, optimizer);
        using var current = generator.get_state();
        using var rngState = ReadGeneratorState(zip, "rng.bin", current);
        generator.set_state(rngState);
    }

    /// <summary>Saves <paramref name="model"/>'s weights as <paramref name="name"/>; <see cref="ReadWeights"/> loads them back.</summary>
    public static void WriteWeights(ZipArchive zip, nn.Module model, string name = "model.bin") => Write(zip, name, Capture(s => model.save(s)));

    /// <summary>Loads the weights saved as <paramref name="name"/> into <paramref name="model"/>; weights that are not finite are a damaged checkpoint.</summary>
    public static void ReadWeights(ZipArchive zip, nn.Module model, string name = "model.bin")
    {
        using (var weights = new MemoryStream(Read(zip, name)))
            model.load(weights);
        if (NonFiniteGuard.FindNonFinite(model) is { } bad)
            throw new InvalidDataException($"{name}: '{bad.Name}' holds {bad.Count} non-finite value(s) of {bad.Total}");
    }

    /// <summary>Fills a freshly built <paramref name="trainer"/> from the checkpoint; disposes it if that fails.</summary>
    public static T Restore<T>(T trainer, Action<T> restore) where T : IDisposable
    {
        try
        {
            restore(trainer);
            return trainer;
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
    }

    public static string ReadSpec(ZipArchive zip) => Encoding.UTF8.GetString(Read(zip, "spec.txt"));
}

/// <summary>A checkpoint's bytes do not make a checkpoint this version can load; the message names it and the problem.</summary>
public sealed class CheckpointFormatException(string file, string problem, Exception? inner = null)
    : DataFormatException(file, $"not a loadable checkpoint: {problem}", inner);
