using SkiaSharp;
using Tessera.Infra.Data;
using Tessera.Infra.Storage;

namespace Tessera.Tests.Infra;

public sealed class ImageFolderImporterTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _root;
    private readonly LocalArtifactStore _store;

    public ImageFolderImporterTests()
    {
        _root = _dir.Combine("images");
        _store = new LocalArtifactStore(_dir.Combine("store"));
    }

    public void Dispose() => _dir.Dispose();

    private string Image(string cls, string name, int width, int height, SKColor color) =>
        TestImages.Solid(Path.Combine(_root, cls, name), width, height, color);

    private void AssertStoreUntouched() => Assert.False(Directory.Exists(_dir.Combine("store")));

    [Fact]
    public void ReadsClassesInSortedOrderAsGrayscaleOrRgb()
    {
        Image("zebra", "b.png", 3, 3, new SKColor(10, 200, 30));
        Image("zebra", "a.png", 3, 3, new SKColor(100, 100, 100));
        Image("ant", "x.jpg", 3, 3, new SKColor(128, 128, 128));
        File.WriteAllText(Path.Combine(_root, "ant", "notes.txt"), "ignored: not an image");

        var gray = ImageFolderImporter.Read(_root, new() { Channels = 1 }).Images;
        Assert.Equal(["ant", "zebra"], gray.ClassNames);
        Assert.Equal([0, 1, 1], gray.Labels);
        Assert.Equal((1, 3, 3), (gray.Channels, gray.Height, gray.Width));
        Assert.InRange(gray.Pixels[0], 125, 131);                  // JPEG of mid gray: lossy but close
        Assert.Equal(100, gray.Pixels[9]);                          // zebra/a.png comes before b.png
        Assert.Equal((299 * 10 + 587 * 200 + 114 * 30 + 500) / 1000, gray.Pixels[18]); // BT.601 luma

        var rgb = ImageFolderImporter.Read(_root, new() { Channels = 3 }).Images;
        Assert.Equal(3, rgb.Channels);
        Assert.Equal(((byte)10, (byte)200, (byte)30), TestImages.Rgb(rgb.Pixels, 2, 3, 3, 0, 0));
    }

    [Fact]
    public async Task WrongSizedImageIsRejectedNamingBothSizesAndNothingIsWritten()
    {
        var first = Image("cat", "1.png", 4, 4, SKColors.Black);
        var odd = Image("dog", "1.png", 5, 4, SKColors.White);

        var e = await Assert.ThrowsAsync<DataFormatException>(() => ImageFolderImporter.ImportAsync(_store, "pets", _root));
        Assert.Equal(odd, e.File);
        Assert.Contains("5x4", e.Problem);
        Assert.Contains($"{first} is 4x4", e.Problem);
        Assert.Contains("--size", e.Problem);
        AssertStoreUntouched();
    }

    [Fact]
    public async Task EmptyClassFolderIsRejectedNamingItAndNothingIsWritten()
    {
        Image("cat", "1.png", 4, 4, SKColors.Black);
        Directory.CreateDirectory(Path.Combine(_root, "dog"));
        File.WriteAllText(Path.Combine(_root, "dog", "readme.txt"), "no images here");

        var e = await Assert.ThrowsAsync<DataFormatException>(() => ImageFolderImporter.ImportAsync(_store, "pets", _root));
        Assert.Equal(Path.Combine(_root, "dog"), e.File);
        Assert.Contains("no images", e.Problem);
        AssertStoreUntouched();
    }

    [Fact]
    public async Task UndecodableOrTruncatedImageFailsAStrictImportNamingIt()
    {
        Image("cat", "1.png", 4, 4, SKColors.Black);
        var garbage = Path.Combine(_root, "cat", "2.png");
        File.WriteAllText(garbage, "this is not a PNG");
        var strict = new ImageFolderOptions { Strict = true };

        var e = await Assert.ThrowsAsync<DataFormatException>(() => ImageFolderImporter.ImportAsync(_store, "pets", _root, strict));
        Assert.Equal(garbage, e.File);
        AssertStoreUntouched();

        var whole = File.ReadAllBytes(Image("cat", "3.png", 64, 64, SKColors.Red));
        File.WriteAllBytes(garbage, whole[..(whole.Length / 2)]);
        e = Assert.Throws<DataFormatException>(() => ImageFolderImporter.Read(_root, strict));
        Assert.Equal(garbage, e.File);
    }

    [Fact]
    public async Task UndecodableImagesAreSkippedByDefaultCountedAndNamed()
    {
        Image("cat", "1.png", 4, 4, SKColors.Black);
        Image("cat", "3.png", 4, 4, SKColors.Black);
        Image("dog", "1.png", 4, 4, SKColors.White);
        var garbage = Path.Combine(_root, "cat", "2.png");
        File.WriteAllText(garbage, "this is not a PNG");
        var empty = Path.Combine(_root, "dog", "2.jpg");
        File.WriteAllBytes(empty, []);

        var import = await ImageFolderImporter.ImportAsync(_store, "pets", _root, options: new ImportOptions { HeldOutFraction = 0 });
        Assert.Equal([garbage, empty], import.Skipped.Select(s => s.File));
        Assert.All(import.Skipped, s => Assert.False(string.IsNullOrWhiteSpace(s.Problem)));
        Assert.Equal([2, 1], import.CountPerClass);
        Assert.Equal(3, import.Manifest.TrainCount);
    }

    [Fact]
    public void AClassWhoseImagesAreAllUndecodableIsRejectedNamingIt()
    {
        Image("cat", "1.png", 4, 4, SKColors.Black);
        var dog = Path.Combine(_root, "dog");
        Directory.CreateDirectory(dog);
        File.WriteAllText(Path.Combine(dog, "1.png"), "not a PNG");

        var e = Assert.Throws<DataFormatException>(() => ImageFolderImporter.Read(_root));
        Assert.Equal(dog, e.File);
        Assert.Contains("no decodable images", e.Problem);
        Assert.Contains(Path.Combine(dog, "1.png"), e.Problem);
    }

    [Fact]
    public async Task NonSquareImageWithoutSizeIsRejectedNamingItAndSuggestingSize()
    {
        var wide = Image("cat", "1.png", 6, 4, SKColors.Black);
        Image("cat", "2.png", 6, 4, SKColors.Black);

        var e = await Assert.ThrowsAsync<DataFormatException>(() => ImageFolderImporter.ImportAsync(_store, "pets", _root));
        Assert.Equal(wide, e.File);
        Assert.Contains("6x4, not square", e.Problem);
        Assert.Contains("--size", e.Problem);
        AssertStoreUntouched();

        // The same folder fitted to 4x4 imports.
        var import = await ImageFolderImporter.ImportAsync(_store, "pets", _root, new() { Size = 4 }, new ImportOptions { HeldOutFraction = 0 });
        Assert.Equal((1, 4, 4), (import.Manifest.Channels, import.Manifest.Height, import.Manifest.Width));
    }

    [Fact]
    public async Task ImportsABalancedSeededSplit()
    {
        for (var i = 0; i < 10; i++)
        {
            Image("a", $"{i:D2}.png", 2, 2, new SKColor((byte)i, 0, 0));
            Image("b", $"{i:D2}.png", 2, 2, new SKColor(0, 0, (byte)i));
        }
        var options = new ImportOptions { HeldOutFraction = 0.2, Seed = 5, TrainShards = 2 };
        var manifest = (await ImageFolderImporter.ImportAsync(_store, "ab", _root, new() { Channels = 3 }, options)).Manifest;

        Assert.Equal(["a", "b"], manifest.ClassNames);
        Assert.Equal((16, 4), (manifest.TrainCount, manifest.HeldOutCount));
        var heldOut = await DatasetStore.ReadSplitAsync(_store, manifest, manifest.HeldOut);
        Assert.Equal(2, heldOut.Labels.Count(l => l == 0));

        // Same input, same seed: same split; another seed: (almost surely) another one.
        var images = ImageFolderImporter.Read(_root, new() { Channels = 3 }).Images;
        var again = DatasetSplit.Balanced(images, 0.2, seed: 5);
        Assert.Equal(heldOut.Pixels.Order(), again.HeldOut.Pixels.Order());
        Assert.NotEqual(again.HeldOut.Pixels, DatasetSplit.Balanced(images, 0.2, seed: 6).HeldOut.Pixels);
    }

    [Fact]
    public async Task BuiltinNamesAndExistingDatasetsCannotBeImportedOver()
    {
        Image("a", "1.png", 2, 2, SKColors.Black);
        Image("a", "2.png", 2, 2, SKColors.Black);
        await Assert.ThrowsAsync<ArgumentException>(() => ImageFolderImporter.ImportAsync(_store, "mnist", _root));
        await Assert.ThrowsAsync<ArgumentException>(() => ImageFolderImporter.ImportAsync(_store, "../x", _root));
        AssertStoreUntouched();

        await ImageFolderImporter.ImportAsync(_store, "a", _root);
        await Assert.ThrowsAsync<InvalidOperationException>(() => ImageFolderImporter.ImportAsync(_store, "a", _root));
    }
}
