using System.Buffers.Binary;
using System.IO.Compression;
using Tessera.Infra.Storage;

namespace Tessera.Infra.Data;

/// <summary>
/// Reads the IDX files MNIST is distributed in (yann.lecun.com/exdb/mnist): an image file with magic
/// 0x00000803 (unsigned bytes, 3 dimensions: count, rows, cols) and a label file with magic 0x00000801
/// (unsigned bytes, 1 dimension: count), big-endian, each optionally gzip-compressed (detected by content,
/// not by name). Labels become classes "0" … "&lt;max label&gt;".
/// </summary>
public static class IdxImporter
{
    public const uint ImagesMagic = 0x00000803;
    public const uint LabelsMagic = 0x00000801;

    /// <summary>Throws <see cref="DataFormatException"/> naming the file for any inconsistency.</summary>
    public static LabelledImages Read(string imagesFile, string labelsFile)
    {
        ArgumentNullException.ThrowIfNull(imagesFile);
        ArgumentNullException.ThrowIfNull(labelsFile);
        var images = Load(imagesFile);
        var labelBytes = Load(labelsFile);

        var (count, rows, cols) = ParseImageHeader(imagesFile, images);
        var labelCount = ParseLabelHeader(labelsFile, labelBytes);
        if (labelCount != count)
            throw new DataFormatException(labelsFile, $"has {labelCount} labels but {imagesFile} has {count} images");

        var labels = new int[count];
        for (var i = 0; i < labels.Length; i++)
            labels[i] = labelBytes[8 + i];
        var classNames = Enumerable.Range(0, labels.Max() + 1).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var pixels = images.AsSpan(16).ToArray();
        return new LabelledImages(classNames, 1, rows, cols, pixels, labels);
    }

    /// <summary>Reads both files, then splits and writes them (nothing is written if reading fails).</summary>
    public static async Task<DatasetManifest> ImportAsync(IArtifactStore store, string name, string imagesFile, string labelsFile,
        ImportOptions? options = null, CancellationToken ct = default)
    {
        DatasetStore.ValidateName(name);
        var images = Read(imagesFile, labelsFile);
        return await DatasetImporter.ImportAsync(store, name, images, options, ct).ConfigureAwait(false);
    }

    private static (int Count, int Rows, int Cols) ParseImageHeader(string file, byte[] bytes)
    {
        CheckMagic(file, bytes, ImagesMagic, "image", headerSize: 16);
        var count = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(4));
        var rows = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(8));
        var cols = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(12));
        if (count == 0)
            throw new DataFormatException(file, "contains no images");
        if (rows is 0 or > 65536 || cols is 0 or > 65536)
            throw new DataFormatException(file, $"invalid image size {rows}x{cols}");
        CheckLength(file, bytes.Length, 16 + (long)count * rows * cols, $"{count} images of {rows}x{cols}");
        return ((int)count, (int)rows, (int)cols);
    }

    private static int ParseLabelHeader(string file, byte[] bytes)
    {
        CheckMagic(file, bytes, LabelsMagic, "label", headerSize: 8);
        var count = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(4));
        if (count == 0)
            throw new DataFormatException(file, "contains no labels");
        CheckLength(file, bytes.Length, 8 + (long)count, $"{count} labels");
        return (int)count;
    }

    private static void CheckMagic(string file, byte[] bytes, uint expected, string kind, int headerSize)
    {
        if (bytes.Length < 4)
            throw new DataFormatException(file, $"truncated: {bytes.Length} bytes is too short for an IDX {kind} file");
        var magic = BinaryPrimitives.ReadUInt32BigEndian(bytes);
        if (magic != expected)
        {
            var hint = magic == (expected == ImagesMagic ? LabelsMagic : ImagesMagic)
                ? $" (this looks like an IDX {(kind == "image" ? "label" : "image")} file; are the two files swapped?)"
                : "";
            throw new DataFormatException(file, $"not an IDX {kind} file: magic number is 0x{magic:X8}, expected 0x{expected:X8}{hint}");
        }
        if (bytes.Length < headerSize)
            throw new DataFormatException(file, $"truncated: {bytes.Length} bytes is shorter than the {headerSize}-byte IDX {kind} header");
    }

    private static void CheckLength(string file, long actual, long expected, string what)
    {
        // Arrays are indexed by int, so anything larger could not be loaded anyway.
        if (expected > Array.MaxLength)
            throw new DataFormatException(file, $"header promises {what} ({expected} bytes), more than can be loaded at once");
        if (actual < expected)
            throw new DataFormatException(file, $"truncated: header promises {what} ({expected} bytes) but the file has {actual} bytes");
        if (actual > expected)
            throw new DataFormatException(file, $"{actual - expected} unexpected bytes after {what}");
    }

    /// <summary>The file's bytes, gunzipped if they start with the gzip signature.</summary>
    private static byte[] Load(string file)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException(file, $"cannot read: {e.Message}");
        }
        if (bytes.Length < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b)
            return bytes;
        try
        {
            using var inflate = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            using var output = new MemoryStream();
            inflate.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException(file, $"corrupt gzip data: {e.Message}");
        }
    }
}
