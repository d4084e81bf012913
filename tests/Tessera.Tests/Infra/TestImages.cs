using System.Runtime.InteropServices;
using SkiaSharp;

namespace Tessera.Tests.Infra;

/// <summary>Writes generated images as real files, so importer tests read what a user's folder would hold.</summary>
public static class TestImages
{
    /// <summary>
    /// Writes a <paramref name="width"/> × <paramref name="height"/> image whose pixel (x, y) is
    /// <paramref name="pixel"/>(x, y), alpha kept as given (unpremultiplied). The format follows the extension:
    /// .png, .jpg (quality <paramref name="quality"/>) or .webp. Creates the folder; returns the path.
    /// </summary>
    public static string Write(string path, int width, int height, Func<int, int, SKColor> pixel, int quality = 100)
    {
        var rgba = new byte[4 * width * height];
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            var c = pixel(x, y);
            var i = 4 * (y * width + x);
            (rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]) = (c.Red, c.Green, c.Blue, c.Alpha);
        }
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        var format = Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".png" => SKEncodedImageFormat.Png,
            ".jpg" or ".jpeg" => SKEncodedImageFormat.Jpeg,
            ".webp" => SKEncodedImageFormat.Webp,
            var other => throw new ArgumentException($"no encoder for '{other}'", nameof(path)),
        };
        using var data = bitmap.Encode(format, quality);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    public static string Solid(string path, int width, int height, SKColor color) => Write(path, width, height, (_, _) => color);

    /// <summary>The (R, G, B) of pixel (x, y) of image <paramref name="index"/> in a 3-channel (N, C, H, W) array.</summary>
    public static (byte R, byte G, byte B) Rgb(byte[] pixels, int index, int height, int width, int x, int y)
    {
        var area = height * width;
        var at = (long)index * 3 * area + y * width + x;
        return (pixels[at], pixels[at + area], pixels[at + 2 * area]);
    }
}
