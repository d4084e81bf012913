using SkiaSharp;

namespace Tessera.Infra.Data;

/// <summary>What transparent pixels are composited on at import.</summary>
public enum ImageBackground
{
    White,
    Black,
}

/// <summary>One image file as three (R, G, B) planes of Height × Width bytes, fully opaque.</summary>
public sealed record RgbImage(int Width, int Height, byte[] Planes);

/// <summary>
/// Decodes one image file, composites it on a background and optionally fits it to S×S, the way
/// torchvision's Resize(S) + CenterCrop(S) do. Compositing happens before any resampling, so the colour
/// hidden under fully transparent pixels never bleeds into the edges of a resized icon.
/// </summary>
public static class ImageFileReader
{
    /// <summary>
    /// A pixel is gray when max(R, G, B) − min(R, G, B) is at most this. Exact equality would call a gray
    /// picture colour for the level or two of chroma rounding that some JPEG encoders and colour-managed
    /// exports leave in it; a tint a person can see is well above this.
    /// </summary>
    public const int GrayTolerance = 3;

    /// <summary>
    /// Reads <paramref name="file"/>; with <paramref name="size"/>, resizes its shorter side to that and
    /// centre-crops. Anything that cannot be read or decoded is a <see cref="DataFormatException"/> naming the file.
    /// </summary>
    public static RgbImage Read(string file, ImageBackground background, int? size = null)
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
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data)
            ?? throw new DataFormatException(file, "not a decodable image (PNG, JPEG, BMP, GIF or WebP)");
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        if (width <= 0 || height <= 0)
            throw new DataFormatException(file, $"image has no pixels ({width}x{height})");
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var source = new SKBitmap(info);
        var result = codec.GetPixels(info, source.GetPixels());
        // IncompleteInput means a truncated file whose missing rows Skia would fill in; treat it as corrupt.
        if (result != SKCodecResult.Success)
            throw new DataFormatException(file, $"image data could not be decoded ({result})");

        var fit = size is { } s ? Fit.Of(width, height, s) : new Fit(width, height, width, height, 0, 0);
        using var image = SKImage.FromBitmap(source);
        using var target = new SKBitmap(new SKImageInfo(fit.Width, fit.Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(target))
        {
            canvas.Clear(background == ImageBackground.White ? SKColors.White : SKColors.Black);
            canvas.DrawImage(image, SKRect.Create(-fit.Left, -fit.Top, fit.ScaledWidth, fit.ScaledHeight),
                Sampling(width, fit.ScaledWidth), paint: null);
        }
        return new RgbImage(fit.Width, fit.Height, ToPlanes(target.GetPixelSpan(), fit.Width * fit.Height));
    }

    /// <summary>True when every pixel of the (R, G, B) planes is gray in the sense of <see cref="GrayTolerance"/>.</summary>
    public static bool IsGray(ReadOnlySpan<byte> planes)
    {
        var area = planes.Length / 3;
        for (var i = 0; i < area; i++)
        {
            int r = planes[i], g = planes[area + i], b = planes[2 * area + i];
            if (Math.Max(r, Math.Max(g, b)) - Math.Min(r, Math.Min(g, b)) > GrayTolerance)
                return false;
        }
        return true;
    }

    /// <summary>ITU-R BT.601 luma of (R, G, B) planes, one plane.</summary>
    public static void ToLuma(ReadOnlySpan<byte> planes, Span<byte> luma)
    {
        var area = luma.Length;
        for (var i = 0; i < area; i++)
            luma[i] = (byte)((299 * planes[i] + 587 * planes[area + i] + 114 * planes[2 * area + i] + 500) / 1000);
    }

    /// <summary>
    /// Same size: nearest, an exact copy. Shrinking by more than half: linear between mipmap levels, which
    /// averages every source pixel instead of skipping most of them. Otherwise Mitchell's cubic, sharper than
    /// linear without the ringing of Catmull-Rom.
    /// </summary>
    private static SKSamplingOptions Sampling(int sourceWidth, int scaledWidth)
    {
        if (scaledWidth == sourceWidth)
            return new SKSamplingOptions(SKFilterMode.Nearest, SKMipmapMode.None);
        if (2 * scaledWidth < sourceWidth)
            return new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear);
        return new SKSamplingOptions(SKCubicResampler.Mitchell);
    }

    /// <summary>Interleaved opaque RGBA rows → (R, G, B) planes.</summary>
    private static byte[] ToPlanes(ReadOnlySpan<byte> rgba, int area)
    {
        var planes = new byte[3 * area];
        for (var i = 0; i < area; i++)
        {
            planes[i] = rgba[4 * i];
            planes[area + i] = rgba[4 * i + 1];
            planes[2 * area + i] = rgba[4 * i + 2];
        }
        return planes;
    }
}

/// <summary>
/// Where an image lands when fitted to S×S: scaled so its shorter side is S (the longer side truncated, as
/// torchvision's Resize computes it), then cropped to Width × Height starting at (Left, Top) of the scaled
/// image, the offsets rounded half to even as torchvision's CenterCrop (Python's round) does.
/// </summary>
public readonly record struct Fit(int Width, int Height, int ScaledWidth, int ScaledHeight, int Left, int Top)
{
    public static Fit Of(int width, int height, int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        var (scaledWidth, scaledHeight) = width <= height
            ? (size, (int)((long)size * height / width))
            : ((int)((long)size * width / height), size);
        var left = (int)Math.Round((scaledWidth - size) / 2.0, MidpointRounding.ToEven);
        var top = (int)Math.Round((scaledHeight - size) / 2.0, MidpointRounding.ToEven);
        return new Fit(size, size, scaledWidth, scaledHeight, left, top);
    }
}
