using SkiaSharp;
using Tessera.Infra.Data;
using Tessera.Infra.Images;

namespace Tessera.Tests.Infra;

public sealed class ImageGridTests
{
    /// <summary>Two 2x2 images; pixel values are chosen so every pixel is distinguishable.</summary>
    private static ImageBatch Gray(params byte[] pixels) => new(pixels, new int[pixels.Length / 4], pixels.Length / 4, 1, 2, 2);

    [Fact]
    public void RoundTripsThroughPngWithScaleGapAndWhiteBackground()
    {
        var originals = Gray(0, 10, 20, 30, 40, 50, 60, 70);
        // One RGB image: R plane, G plane, B plane.
        var rgb = new ImageBatch([200, 0, 0, 0, /* G */ 0, 150, 0, 0, /* B */ 0, 0, 100, 0], [0], 1, 3, 2, 2);

        var png = ImageGrid.RenderPng([originals, rgb], scale: 3, gap: 2);

        using var bitmap = SKBitmap.Decode(png);
        Assert.NotNull(bitmap);
        // Two columns of 6 px, three gaps of 2 px; two rows likewise.
        Assert.Equal((2 * 6 + 3 * 2, 2 * 6 + 3 * 2), (bitmap.Width, bitmap.Height));

        Assert.Equal(new SKColor(255, 255, 255), bitmap.GetPixel(0, 0));       // border
        Assert.Equal(new SKColor(255, 255, 255), bitmap.GetPixel(8, 4));       // gap between columns
        Assert.Equal(new SKColor(0, 0, 0), bitmap.GetPixel(2, 2));             // image 0, pixel (0,0)
        Assert.Equal(new SKColor(10, 10, 10), bitmap.GetPixel(2 + 3, 2));      // image 0, pixel (x=1,y=0)
        Assert.Equal(new SKColor(30, 30, 30), bitmap.GetPixel(2 + 5, 2 + 5));  // image 0, pixel (1,1), far corner of its block
        Assert.Equal(new SKColor(60, 60, 60), bitmap.GetPixel(10, 2 + 3));     // image 1 starts at x = 2 + 6 + 2
        Assert.Equal(new SKColor(200, 0, 0), bitmap.GetPixel(2, 10));          // row 2 starts at y = 2 + 6 + 2
        Assert.Equal(new SKColor(0, 150, 0), bitmap.GetPixel(2 + 3, 10));
        Assert.Equal(new SKColor(0, 0, 100), bitmap.GetPixel(2, 10 + 3));
        Assert.Equal(new SKColor(255, 255, 255), bitmap.GetPixel(12, 12));    // row 2 has one image; the rest is background
    }

    [Fact]
    public void ComparisonWrapsOriginalsAboveReconstructions()
    {
        var originals = Gray(Enumerable.Range(0, 12).Select(i => (byte)(i * 20)).ToArray()); // 3 images
        var recon = Gray(Enumerable.Range(0, 12).Select(i => (byte)(255 - i)).ToArray());

        var png = ImageGrid.RenderComparison(originals, recon, columns: 2, scale: 1, gap: 1);

        using var bitmap = SKBitmap.Decode(png);
        // 2 columns; 2 rows of originals, then 2 rows of reconstructions.
        Assert.Equal((2 * 2 + 3, 4 * 2 + 5), (bitmap.Width, bitmap.Height));
        Assert.Equal(new SKColor(160, 160, 160), bitmap.GetPixel(1, 4));       // original 2 opens row 2
        Assert.Equal(new SKColor(255, 255, 255), bitmap.GetPixel(4, 4));       // no original 3
        Assert.Equal(new SKColor(254, 254, 254), bitmap.GetPixel(2, 7));       // recon 0 opens row 3 (its pixel x=1)
        Assert.Equal(new SKColor(251, 251, 251), bitmap.GetPixel(4, 7));       // recon 1
    }

    [Fact]
    public void MismatchedImageSizesAreRejected()
    {
        var small = Gray(1, 2, 3, 4);
        var large = new ImageBatch(new byte[9], [0], 1, 1, 3, 3);
        Assert.Throws<ArgumentException>(() => ImageGrid.RenderPng([small, large]));
        Assert.Throws<ArgumentException>(() => ImageGrid.RenderPng([]));
    }
}
