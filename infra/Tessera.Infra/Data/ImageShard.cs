using System.Buffers.Binary;

namespace Tessera.Infra.Data;

/// <summary>
/// One shard of an image dataset, whole in memory. Binary layout, all integers little-endian:
/// <code>
///   "TSHD"            4 bytes magic
///   version           u32 (1)
///   count             u32 number of images
///   channels          u32 1 or 3
///   height, width     u32, u32
///   labels            count × i32
///   pixels            count × channels × height × width bytes, (N, C, H, W) order
/// </code>
/// A shard is exactly that long; anything shorter is truncated and anything longer is rejected too, since
/// either means the writer and reader disagree about the format.
/// </summary>
public sealed class ImageShard
{
    public const int CurrentVersion = 1;
    private const int HeaderSize = 24;
    private static ReadOnlySpan<byte> Magic => "TSHD"u8;

    public ImageShard(int channels, int height, int width, byte[] pixels, int[] labels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        if (channels is not (1 or 3))
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be 1 or 3");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        if ((long)labels.Length * channels * height * width != pixels.Length)
            throw new ArgumentException($"{pixels.Length} pixel bytes do not hold {labels.Length} images of {channels}x{height}x{width}");
        Channels = channels;
        Height = height;
        Width = width;
        Pixels = pixels;
        Labels = labels;
    }

    public int Count => Labels.Length;
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public byte[] Pixels { get; }
    public int[] Labels { get; }
    public int PixelsPerImage => Channels * Height * Width;

    public static ImageShard From(LabelledImages images) =>
        new(images.Channels, images.Height, images.Width, images.Pixels, images.Labels);

    /// <summary>The whole shard as one batch (e.g. a held-out shard for evaluation).</summary>
    public ImageBatch ToBatch() => new(Pixels, Labels, Count, Channels, Height, Width);

    /// <summary>A training batch of the images at <paramref name="indices"/> (shard-local), in that order.</summary>
    public ImageBatch ToBatch(IReadOnlyList<int> indices)
    {
        var (pixels, labels) = LabelledImages.Gather(Pixels, Labels, PixelsPerImage, indices);
        return new ImageBatch(pixels, labels, labels.Length, Channels, Height, Width);
    }

    /// <summary>Several shards of one shape as one batch, in order (e.g. all held-out shards for evaluation).</summary>
    public static ImageBatch Concatenate(IReadOnlyList<ImageShard> shards)
    {
        ArgumentNullException.ThrowIfNull(shards);
        if (shards.Count == 0)
            throw new ArgumentException("nothing to concatenate: no shards", nameof(shards));
        var first = shards[0];
        if (shards.Any(s => s.Channels != first.Channels || s.Height != first.Height || s.Width != first.Width))
            throw new ArgumentException("shards of different image shapes cannot be concatenated", nameof(shards));
        var pixels = new byte[shards.Sum(s => (long)s.Pixels.Length)];
        var labels = new int[shards.Sum(s => s.Count)];
        long pixelOffset = 0;
        var labelOffset = 0;
        foreach (var shard in shards)
        {
            Array.Copy(shard.Pixels, 0, pixels, pixelOffset, shard.Pixels.Length);
            shard.Labels.CopyTo(labels, labelOffset);
            pixelOffset += shard.Pixels.Length;
            labelOffset += shard.Count;
        }
        return new ImageBatch(pixels, labels, labels.Length, first.Channels, first.Height, first.Width);
    }

    public byte[] ToBytes()
    {
        var bytes = new byte[checked(HeaderSize + 4L * Count + Pixels.Length)];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], CurrentVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], (uint)Count);
        BinaryPrimitives.WriteUInt32LittleEndian(span[12..], (uint)Channels);
        BinaryPrimitives.WriteUInt32LittleEndian(span[16..], (uint)Height);
        BinaryPrimitives.WriteUInt32LittleEndian(span[20..], (uint)Width);
        var labels = span[HeaderSize..];
        for (var i = 0; i < Count; i++)
            BinaryPrimitives.WriteInt32LittleEndian(labels[(4 * i)..], Labels[i]);
        Pixels.CopyTo(span[(HeaderSize + 4 * Count)..]);
        return bytes;
    }

    /// <summary>Parses a shard; every problem is a <see cref="DataFormatException"/> naming <paramref name="shardPath"/>.</summary>
    public static ImageShard Parse(string shardPath, ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < HeaderSize)
            throw new DataFormatException(shardPath, $"truncated: {bytes.Length} bytes is shorter than the {HeaderSize}-byte shard header");
        if (!bytes[..4].SequenceEqual(Magic))
            throw new DataFormatException(shardPath, $"not an image shard: magic is {Convert.ToHexString(bytes[..4])}, expected {Convert.ToHexString(Magic)} (\"TSHD\")");
        var version = BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]);
        if (version != CurrentVersion)
            throw new DataFormatException(shardPath, $"shard format version {version} is not supported (expected {CurrentVersion})");
        var count = BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]);
        var channels = BinaryPrimitives.ReadUInt32LittleEndian(bytes[12..]);
        var height = BinaryPrimitives.ReadUInt32LittleEndian(bytes[16..]);
        var width = BinaryPrimitives.ReadUInt32LittleEndian(bytes[20..]);
        if (channels is not (1 or 3) || height is 0 or > 65536 || width is 0 or > 65536)
            throw new DataFormatException(shardPath, $"invalid image shape {channels}x{height}x{width} in the header");
        // In 64-bit arithmetic a corrupted count cannot overflow into a plausible length.
        var expected = HeaderSize + 4L * count + (long)count * channels * height * width;
        if (bytes.Length < expected)
            throw new DataFormatException(shardPath, $"truncated: header promises {count} images ({expected} bytes) but the shard has {bytes.Length} bytes");
        if (bytes.Length > expected)
            throw new DataFormatException(shardPath, $"{bytes.Length - expected} unexpected bytes after {count} images");

        var labels = new int[count];
        for (var i = 0; i < labels.Length; i++)
        {
            labels[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes[(HeaderSize + 4 * i)..]);
            if (labels[i] < 0)
                throw new DataFormatException(shardPath, $"image {i} has negative label {labels[i]}");
        }
        var pixels = bytes[(HeaderSize + 4 * (int)count)..].ToArray();
        return new ImageShard((int)channels, (int)height, (int)width, pixels, labels);
    }
}
