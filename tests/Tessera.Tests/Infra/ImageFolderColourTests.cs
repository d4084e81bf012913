using SkiaSharp;
using Tessera.Infra.Data;
using Tessera.Infra.Storage;

namespace Tessera.Tests.Infra;

/// <summary>
/// The ImageFolder import on colour folders as teams bring them: RGB, transparent and gray classes, two sizes,
/// non-square photos to fit, JPEG gray.
/// </summary>
public sealed class ImageFolderColourTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly SKColor Clear = new(0, 0, 0, 0);

    /// <summary>
    /// Three classes of <paramref name="side"/>² images: "colour" (a red-to-blue ramp), "gray" (gray levels) and
    /// "logo" (a green disc on a fully transparent background). Returns the folder.
    /// </summary>
    private string ColourFolder(string name, int side, int perClass = 4)
    {
        var root = _dir.Combine(name);
        var centre = side / 2.0;
        for (var i = 0; i < perClass; i++)
        {
            TestImages.Write(Path.Combine(root, "colour", $"{i}.png"), side, side, (x, _) => new SKColor((byte)(255 - 4 * x), 40, (byte)(4 * x)));
            TestImages.Solid(Path.Combine(root, "gray", $"{i}.png"), side, side, new SKColor((byte)(30 * i), (byte)(30 * i), (byte)(30 * i)));
            TestImages.Write(Path.Combine(root, "logo", $"{i}.png"), side, side,
                (x, y) => Math.Pow(x + 0.5 - centre, 2) + Math.Pow(y + 0.5 - centre, 2) < side * side / 16.0 ? new SKColor(0, 200, 0) : Clear);
        }
        return root;
    }

    [Theory]
    [InlineData(32)]
    [InlineData(64)]
    public async Task ColourFolderImportsAsRgbOfItsSizeWithTransparencyOnWhite(int side)
    {
        var folder = ColourFolder($"set{side}", side);
        var store = new LocalArtifactStore(_dir.Combine("store"));

        var import = await ImageFolderImporter.ImportAsync(store, "mine", folder, options: new ImportOptions { HeldOutFraction = 0.25 });
        var manifest = import.Manifest;
        Assert.Equal((3, side, side), (manifest.Channels, manifest.Height, manifest.Width));
        Assert.Equal(["colour", "gray", "logo"], manifest.ClassNames);
        Assert.Equal([4, 4, 4], import.CountPerClass);
        Assert.Empty(import.Skipped);

        var images = ImageFolderImporter.Read(folder).Images;
        var logo = 8; // first image of the third class
        Assert.Equal(((byte)255, (byte)255, (byte)255), TestImages.Rgb(images.Pixels, logo, side, side, 0, 0));
        Assert.Equal(((byte)0, (byte)200, (byte)0), TestImages.Rgb(images.Pixels, logo, side, side, side / 2, side / 2));
        Assert.Equal(((byte)255, (byte)40, (byte)0), TestImages.Rgb(images.Pixels, 0, side, side, 0, 5));
    }

    [Fact]
    public void TransparentPixelsAreCompositedOnTheChosenBackground()
    {
        var root = _dir.Combine("alpha");
        // Left half fully transparent (its hidden colour blue must not show), right half half-transparent red.
        TestImages.Write(Path.Combine(root, "a", "1.png"), 4, 4, (x, _) => x < 2 ? new SKColor(0, 0, 255, 0) : new SKColor(255, 0, 0, 128));

        var white = ImageFolderImporter.Read(root, new() { Background = ImageBackground.White }).Images;
        var black = ImageFolderImporter.Read(root, new() { Background = ImageBackground.Black }).Images;
        Assert.Equal((3, 3), (white.Channels, black.Channels));
        Assert.Equal(((byte)255, (byte)255, (byte)255), TestImages.Rgb(white.Pixels, 0, 4, 4, 0, 0));
        Assert.Equal(((byte)0, (byte)0, (byte)0), TestImages.Rgb(black.Pixels, 0, 4, 4, 0, 0));
        // 128/255 of red over the background: about (255, 127, 127) on white and (128, 0, 0) on black.
        var (r, g, b) = TestImages.Rgb(white.Pixels, 0, 4, 4, 3, 0);
        Assert.Equal(255, r);
        Assert.InRange(g, 126, 128);
        Assert.InRange(b, 126, 128);
        (r, g, b) = TestImages.Rgb(black.Pixels, 0, 4, 4, 3, 0);
        Assert.InRange(r, 127, 129);
        Assert.Equal((0, 0), (g, b));
    }

    [Fact]
    public void ChannelsAreDetectedFromColourAndCanBeOverridden()
    {
        var root = _dir.Combine("gray");
        TestImages.Solid(Path.Combine(root, "a", "1.png"), 4, 4, new SKColor(90, 90, 90));
        // A black glyph on transparency composites to gray on white, so it stays gray.
        TestImages.Write(Path.Combine(root, "b", "1.png"), 4, 4, (x, _) => x < 2 ? SKColors.Black : Clear);
        // Gray noise through lossy JPEG must still count as gray.
        TestImages.Write(Path.Combine(root, "b", "2.jpg"), 4, 4, (x, y) => new SKColor((byte)(37 * x + 53 * y), (byte)(37 * x + 53 * y), (byte)(37 * x + 53 * y)), quality: 50);

        var gray = ImageFolderImporter.Read(root).Images;
        Assert.Equal(1, gray.Channels);
        Assert.Equal(90, gray.Pixels[0]);
        Assert.Equal([0, 0, 255, 255], gray.Pixels.AsSpan(16, 4).ToArray());
        Assert.Equal(3, ImageFolderImporter.Read(root, new() { Channels = 3 }).Images.Channels);

        // One slightly tinted image makes the whole set colour; --channels 1 still forces gray.
        TestImages.Solid(Path.Combine(root, "a", "2.png"), 4, 4, new SKColor(120, 128, 136));
        Assert.Equal(3, ImageFolderImporter.Read(root).Images.Channels);
        var forced = ImageFolderImporter.Read(root, new() { Channels = 1 }).Images;
        Assert.Equal(1, forced.Channels);
        Assert.Equal((299 * 120 + 587 * 128 + 114 * 136 + 500) / 1000, forced.Pixels[16]);
    }

    [Fact]
    public void GrayMeansChannelsWithinTheTolerance()
    {
        byte[] Planes(byte r, byte g, byte b) => [r, g, b];
        Assert.True(ImageFileReader.IsGray(Planes(100, 100, 100)));
        Assert.True(ImageFileReader.IsGray(Planes(100, (byte)(100 + ImageFileReader.GrayTolerance), 100)));
        Assert.False(ImageFileReader.IsGray(Planes(100, (byte)(101 + ImageFileReader.GrayTolerance), 100)));
        Assert.False(ImageFileReader.IsGray(Planes(0, 0, 255)));
    }

    [Theory]
    [InlineData(60, 40, 20, 30, 20, 5, 0)]   // landscape: shorter side to 20, centre columns kept
    [InlineData(40, 61, 20, 20, 30, 0, 5)]   // portrait: 20·61/40 = 30.5 truncates to 30
    [InlineData(33, 32, 32, 33, 32, 0, 0)]   // crop offset 0.5 rounds half to even: 0
    [InlineData(35, 32, 32, 35, 32, 2, 0)]   // 1.5 rounds to 2
    [InlineData(16, 16, 32, 32, 32, 0, 0)]   // square upscaling: no crop
    public void FitFollowsTorchvisionResizeAndCenterCrop(int width, int height, int size, int scaledWidth, int scaledHeight, int left, int top) =>
        Assert.Equal(new Fit(size, size, scaledWidth, scaledHeight, left, top), Fit.Of(width, height, size));

    [Fact]
    public void SizeResizesTheShorterSideAndCropsTheCentre()
    {
        var root = _dir.Combine("fit");
        // 60x40: red columns 0-9, green 10-49, blue 50-59. Scaled to 30x20 the green band is columns 5-24,
        // exactly the centre crop; a squash to 20x20 instead would put red at column 2 and blue at column 17.
        TestImages.Write(Path.Combine(root, "a", "wide.png"), 60, 40, (x, _) => x < 10 ? SKColors.Red : x < 50 ? SKColors.Lime : SKColors.Blue);
        // A 32x32 square from another source: a mixed-size folder is fine with a size.
        TestImages.Solid(Path.Combine(root, "b", "square.png"), 32, 32, SKColors.Red);

        var images = ImageFolderImporter.Read(root, new() { Size = 20 }).Images;
        Assert.Equal((3, 20, 20), (images.Channels, images.Height, images.Width));
        for (var x = 2; x <= 17; x++)
        {
            var (r, g, b) = TestImages.Rgb(images.Pixels, 0, 20, 20, x, 10);
            Assert.True(r < 12 && g > 243 && b < 12, $"column {x} is ({r}, {g}, {b}), expected green");
        }
        Assert.Equal(((byte)255, (byte)0, (byte)0), TestImages.Rgb(images.Pixels, 1, 20, 20, 10, 10));
    }

    [Fact]
    public void ShrinkingAveragesInsteadOfSkippingPixels()
    {
        var root = _dir.Combine("stripes");
        // In every 8 columns, columns 3 and 4 are black and the rest white: shrunk 8x, each pixel must average
        // its 8 columns to 3/4 white (191). Point or bilinear sampling lands between columns 3 and 4 (black).
        TestImages.Write(Path.Combine(root, "a", "1.png"), 64, 64, (x, _) => x % 8 is 3 or 4 ? SKColors.Black : SKColors.White);
        var images = ImageFolderImporter.Read(root, new() { Size = 8 }).Images;
        Assert.Equal(1, images.Channels);
        Assert.All(images.Pixels, p => Assert.InRange(p, 181, 201));
    }
}
