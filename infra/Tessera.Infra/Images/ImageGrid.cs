using SkiaSharp;
using Tessera.Infra.Data;

namespace Tessera.Infra.Images;

/// <summary>
/// Renders rows of small 8-bit images into one PNG, e.g. recon.png: held-out originals in the top row(s),
/// their reconstructions below. Images are upscaled by an integer factor with nearest-neighbour sampling
/// (so every source pixel becomes a crisp block that can be checked by eye), separated by a gap of white
/// background, with the same gap as a border.
/// </summary>
public static class ImageGrid
{
    public const int DefaultScale = 3;
    public const int DefaultGap = 2;

    /// <summary>
    /// One grid row per batch (wrapped into several rows of <paramref name="columns"/> images when given).
    /// All batches must share height and width; grayscale and RGB batches may be mixed.
    /// </summary>
    public static byte[] RenderPng(IReadOnlyList<ImageBatch> rows, int scale = DefaultScale, int gap = DefaultGap, int? columns = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(scale);
        ArgumentOutOfRangeException.ThrowIfNegative(gap);
        if (columns is <= 0)
            throw new ArgumentOutOfRangeException(nameof(columns), columns, "columns must be positive");
        if (rows.Count == 0 || rows.All(r => r.Count == 0))
            throw new ArgumentException("nothing to render: no images", nameof(rows));
        var shaped = rows.First(r => r.Count > 0);
        foreach (var row in rows)
        {
            if (row.Channels is not (1 or 3))
                throw new ArgumentException($"images must have 1 or 3 channels, not {row.Channels}", nameof(rows));
            if (row.Count > 0 && (row.Height != shaped.Height || row.Width != shaped.Width))
                throw new ArgumentException($"all images must be {shaped.Width}x{shaped.Height}, found {row.Width}x{row.Height}", nameof(rows));
            if (row.Pixels.Length < (long)row.Count * row.PixelsPerImage || row.Labels.Length < row.Count)
                throw new ArgumentException($"a batch of {row.Count} images has only {row.Pixels.Length} pixel bytes", nameof(rows));
        }

        // Lay out (batch, first image, how many) per visual row.
        var lines = new List<(ImageBatch Batch, int First, int Take)>();
        foreach (var row in rows)
        {
            var perLine = columns ?? Math.Max(row.Count, 1);
            for (var first = 0; first < Math.Max(row.Count, 1); first += perLine)
                lines.Add((row, first, Math.Min(perLine, row.Count - first)));
        }
        var cellWidth = shaped.Width * scale;
        var cellHeight = shaped.Height * scale;
        var maxColumns = lines.Max(l => l.Take);
        var width = checked(maxColumns * cellWidth + (maxColumns + 1) * gap);
        var height = checked(lines.Count * cellHeight + (lines.Count + 1) * gap);

        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var canvas = bitmap.GetPixelSpan();
        canvas.Fill(255); // white background, opaque
        for (var line = 0; line < lines.Count; line++)
        {
            var (batch, first, take) = lines[line];
            for (var k = 0; k < take; k++)
            {
                var left = gap + k * (cellWidth + gap);
                var top = gap + line * (cellHeight + gap);
                Blit(batch, first + k, scale, canvas, bitmap.RowBytes, left, top);
            }
        }
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException("SkiaSharp could not encode the image grid as PNG");
        return data.ToArray();
    }

    /// <summary>
    /// recon.png: <paramref name="originals"/> above <paramref name="reconstructions"/>, both wrapped at
    /// <paramref name="columns"/> so image i of one sits straight above image i of the other.
    /// </summary>
    public static byte[] RenderComparison(ImageBatch originals, ImageBatch reconstructions, int columns = 16, int scale = DefaultScale, int gap = DefaultGap)
    {
        ArgumentNullException.ThrowIfNull(originals);
        ArgumentNullException.ThrowIfNull(reconstructions);
        if (originals.Count != reconstructions.Count)
            throw new ArgumentException($"{originals.Count} originals but {reconstructions.Count} reconstructions", nameof(reconstructions));
        return RenderPng([originals, reconstructions], scale, gap, Math.Min(columns, Math.Max(originals.Count, 1)));
    }

    private static void Blit(ImageBatch batch, int index, int scale, Span<byte> canvas, int rowBytes, int left, int top)
    {
        var plane = batch.Height * batch.Width;
        var image = batch.Pixels.AsSpan(index * batch.PixelsPerImage, batch.PixelsPerImage);
        for (var y = 0; y < batch.Height; y++)
        {
            for (var x = 0; x < batch.Width; x++)
            {
                var at = y * batch.Width + x;
                // (C, H, W) layout: channel planes one after another; grayscale repeats its only plane.
                var r = image[at];
                var g = batch.Channels == 3 ? image[plane + at] : r;
                var b = batch.Channels == 3 ? image[2 * plane + at] : r;
                for (var dy = 0; dy < scale; dy++)
                {
                    var rowStart = (top + y * scale + dy) * rowBytes + (left + x * scale) * 4;
                    for (var dx = 0; dx < scale; dx++)
                    {
                        var p = rowStart + dx * 4;
                        canvas[p] = r;
                        canvas[p + 1] = g;
                        canvas[p + 2] = b;
                        canvas[p + 3] = 255;
                    }
                }
            }
        }
    }
}
