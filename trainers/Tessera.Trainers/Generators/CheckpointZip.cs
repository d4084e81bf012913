using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tessera.Trainers.Generators;

/// <summary>Entries of a zip checkpoint, written and read whole; shared by the generator and classifier trainers.</summary>
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
}
