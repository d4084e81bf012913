namespace Tessera.Infra.Data;

/// <summary>
/// A set of same-sized 8-bit images with class labels, in memory: what importers produce and what
/// <see cref="DatasetStore"/> writes. Pixels are laid out (N, C, H, W) like <see cref="ImageBatch"/>.
/// The arrays are shared, not copied; treat them as read-only.
/// </summary>
public sealed class LabelledImages
{
    public LabelledImages(IReadOnlyList<string> classNames, int channels, int height, int width, byte[] pixels, int[] labels)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        if (classNames.Count == 0)
            throw new ArgumentException("at least one class name is required", nameof(classNames));
        if (classNames.Distinct(StringComparer.Ordinal).Count() != classNames.Count)
            throw new ArgumentException("class names must be distinct", nameof(classNames));
        if (channels is not (1 or 3))
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be 1 (grayscale) or 3 (RGB)");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        if ((long)labels.Length * channels * height * width != pixels.Length)
            throw new ArgumentException(
                $"{pixels.Length} pixel bytes do not hold {labels.Length} images of {channels}x{height}x{width}", nameof(pixels));
        var bad = Array.FindIndex(labels, l => l < 0 || l >= classNames.Count);
        if (bad >= 0)
            throw new ArgumentException($"label {labels[bad]} of image {bad} is not a class index (0..{classNames.Count - 1})", nameof(labels));
        ClassNames = classNames.ToArray();
        Channels = channels;
        Height = height;
        Width = width;
        Pixels = pixels;
        Labels = labels;
    }

    public IReadOnlyList<string> ClassNames { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public byte[] Pixels { get; }
    public int[] Labels { get; }
    public int Count => Labels.Length;
    public int PixelsPerImage => Channels * Height * Width;

    /// <summary>The images at <paramref name="indices"/>, in that order.</summary>
    public LabelledImages Select(IReadOnlyList<int> indices)
    {
        var (pixels, labels) = Gather(Pixels, Labels, PixelsPerImage, indices);
        return new LabelledImages(ClassNames, Channels, Height, Width, pixels, labels);
    }

    public ImageBatch ToBatch() => new(Pixels, Labels, Count, Channels, Height, Width);

    /// <summary>How many images each class has, indexed by label.</summary>
    public int[] CountPerClass()
    {
        var counts = new int[ClassNames.Count];
        foreach (var label in Labels)
            counts[label]++;
        return counts;
    }

    /// <summary>Copies the chosen images out of a (N, C, H, W) pixel array and its labels.</summary>
    internal static (byte[] Pixels, int[] Labels) Gather(byte[] pixels, int[] labels, int pixelsPerImage, IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var outPixels = new byte[(long)indices.Count * pixelsPerImage];
        var outLabels = new int[indices.Count];
        for (var i = 0; i < indices.Count; i++)
        {
            var index = indices[i];
            if ((uint)index >= (uint)labels.Length)
                throw new ArgumentOutOfRangeException(nameof(indices), index, $"index outside 0..{labels.Length - 1}");
            outLabels[i] = labels[index];
            Array.Copy(pixels, (long)index * pixelsPerImage, outPixels, (long)i * pixelsPerImage, pixelsPerImage);
        }
        return (outPixels, outLabels);
    }
}
