using SkiaSharp;
using Tessera.Cli;
using Tessera.Infra.Data;
using Tessera.Infra.Storage;

namespace Tessera.Tests.Infra;

/// <summary>`tessera data import` passes its ImageFolder options through, and bad input leaves the store as it was.</summary>
public sealed class DataImportCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private Task<int> Import(params string[] options) =>
        TesseraApp.RunAsync(["data", "import", _dir.Combine("images"), "--runs", _dir.Combine("runs"), "--shards", "1", .. options]);

    private void Photos()
    {
        for (var i = 0; i < 3; i++)
        {
            TestImages.Solid(_dir.Combine("images", "sky", $"{i}.png"), 24, 16, new SKColor(40, 90, (byte)(200 + i)));
            TestImages.Write(_dir.Combine("images", "badge", $"{i}.png"), 16, 16, (x, _) => x < 8 ? SKColors.Yellow : SKColors.Transparent);
        }
    }

    [Fact]
    public async Task SizeBackgroundAndDetectedChannelsReachTheManifest()
    {
        Photos();
        Assert.Equal(ExitCodes.Success, await Import("--name", "photos", "--size", "8", "--background", "black"));

        var store = new LocalArtifactStore(_dir.Combine("runs"));
        var manifest = await DatasetStore.ReadManifestAsync(store, "photos");
        Assert.Equal((3, 8, 8), (manifest.Channels, manifest.Height, manifest.Width));
        var train = await DatasetStore.ReadSplitAsync(store, manifest, manifest.Train);
        var badge = Array.IndexOf(train.Labels, 0);
        Assert.Equal(((byte)0, (byte)0, (byte)0), TestImages.Rgb(train.Pixels, badge, 8, 8, 7, 4)); // transparent half on black
    }

    [Fact]
    public async Task StrictFailsOnAnUndecodableImageWhereTheDefaultSkipsIt()
    {
        Photos();
        File.WriteAllText(_dir.Combine("images", "sky", "broken.png"), "not a PNG");

        Assert.Equal(ExitCodes.InvalidInput, await Import("--name", "photos", "--size", "8", "--strict"));
        Assert.False(Directory.Exists(_dir.Combine("runs", "datasets")));
        Assert.Equal(ExitCodes.Success, await Import("--name", "photos", "--size", "8"));
    }

    [Theory]
    [InlineData("--background", "pink")]
    [InlineData("--size", "0")]
    [InlineData("--channels", "2")]
    public async Task BadOptionsAreRefusedBeforeReadingAnything(string option, string value)
    {
        Photos();
        Assert.Equal(ExitCodes.InvalidInput, await Import("--name", "photos", option, value));
        Assert.False(Directory.Exists(_dir.Combine("runs", "datasets")));
    }

    [Fact]
    public async Task NonSquareImagesWithoutSizeFail()
    {
        Photos();
        Assert.Equal(ExitCodes.InvalidInput, await Import("--name", "photos"));
        Assert.False(Directory.Exists(_dir.Combine("runs", "datasets")));
    }
}
