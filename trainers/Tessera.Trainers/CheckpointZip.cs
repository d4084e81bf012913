using System.IO.Compression;
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
    };

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
        Write(zip, "model.bin", Capture(s => model.save(s)));
        Write(zip, "optimizer.bin", Capture(s =>
        {
            using var writer = new BinaryWriter(s, Encoding.UTF8, leaveOpen: true);
            optimizer.save_state_dict(writer);
        }));
        using var state = generator.get_state();
        Write(zip, "rng.bin", state.data<byte>().ToArray());
    }

    /// <summary>Restores weights, optimizer moments and generator state into a freshly built trainer's parts.</summary>
    public static void ReadTrainer(ZipArchive zip, nn.Module model, TorchSharp.Modules.AdamW optimizer, Generator generator)
    {
        using (var weights = new MemoryStream(Read(zip, "model.bin")))
            model.load(weights);
        using (var moments = new MemoryStream(Read(zip, "optimizer.bin")))
        using (var reader = new BinaryReader(moments))
            optimizer.load_state_dict(reader);
        var rng = Read(zip, "rng.bin");
        using var rngState = tensor(rng, new long[] { rng.Length }, dtype: ScalarType.Byte);
        generator.set_state(rngState);
    }

    public static string ReadSpec(ZipArchive zip) => Encoding.UTF8.GetString(Read(zip, "spec.txt"));
}
