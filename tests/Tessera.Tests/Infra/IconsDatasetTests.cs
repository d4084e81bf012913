using System.Security.Cryptography;
using SkiaSharp;
using Tessera.Infra.Data;
using Tessera.Infra.Storage;

namespace Tessera.Tests.Infra;

public sealed class IconsDatasetTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly List<string> _progress = [];

    public void Dispose() => _dir.Dispose();

    /// <summary>Writes an icon into a fake unpacked package, as <see cref="DebianPackages.FetchAsync"/> leaves it.</summary>
    private string Icon(string package, string theme, string relative, SKColor color, int side = IconsDataset.Side) =>
        TestImages.Write(_dir.Combine("cache", package, "usr", "share", "icons", theme, relative), side, side,
            (x, y) => x + y < side ? color : new SKColor(0, 0, 0, 0));

    /// <summary>Two icons per class across the three themes and both folder layouts, plus icons that must be left out.</summary>
    private void FakeCache()
    {
        foreach (var (package, _) in IconsDataset.Sources)
        {
            Directory.CreateDirectory(_dir.Combine("cache", package));
            File.WriteAllText(_dir.Combine("cache", package, DebianPackages.CompleteMarker), "1.0-1");
        }
        for (var i = 0; i < 2; i++)
        {
            var shade = (byte)(100 + 50 * i);
            Icon("oxygen-icon-theme", "oxygen", $"base/32x32/actions/go-{i}.png", new SKColor(shade, 0, 0));
            Icon("oxygen-icon-theme", "oxygen", $"base/32x32/apps/app-{i}.png", new SKColor(0, shade, 0));
            Icon("faenza-icon-theme", "Faenza", $"devices/32/disk-{i}.png", new SKColor(0, 0, shade));
            Icon("faenza-icon-theme", "Faenza", $"places/32/folder-{i}.png", new SKColor(shade, shade, 0));
            Icon("mate-icon-theme", "mate", $"32x32/mimetypes/text-{i}.png", new SKColor(0, shade, shade));
            Icon("mate-icon-theme", "mate", $"32x32/status/ok-{i}.png", new SKColor(shade, 0, shade));
        }
        Icon("oxygen-icon-theme", "oxygen", "base/32x32/emblems/star.png", SKColors.Orange);          // not a class
        Icon("oxygen-icon-theme", "oxygen", "base/22x22/actions/small.png", SKColors.Orange, 22);    // not a 32 folder
        Icon("faenza-icon-theme", "Faenza", "actions/32/big.png", SKColors.Orange, 48);              // not 32x32
        Icon("faenza-icon-theme", "Faenza", "actions/32/go-again.png", new SKColor(100, 0, 0));      // same picture as go-0
    }

    [Fact]
    public void UnpackedThemesMapToOneClassPerIconContext()
    {
        FakeCache();
        var classes = IconsDataset.SelectClasses(_dir.Combine("cache"));

        Assert.Equal(IconsDataset.Classes, classes.Select(c => c.Name));
        Assert.All(classes, c => Assert.Equal(2, c.Files.Count));
        Assert.Equal(["go-0.png", "go-1.png"], classes[0].Files.Select(Path.GetFileName));
        Assert.Equal(["disk-0.png", "disk-1.png"], classes[2].Files.Select(Path.GetFileName));

        IconsDataset.Materialise(classes, _dir.Combine("folder"));
        Assert.Equal(["oxygen-go-0.png", "oxygen-go-1.png"],
            Directory.GetFiles(_dir.Combine("folder", "actions")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.True(File.Exists(_dir.Combine("folder", "status", "mate-ok-1.png")));
        var e = Assert.Throws<IOException>(() => IconsDataset.Materialise(classes, _dir.Combine("folder")));
        Assert.Contains("not empty", e.Message);
    }

    [Fact]
    public async Task FakeInstallLoadsAsRgbOnWhiteWithoutApt()
    {
        FakeCache();
        var split = await IconsDataset.LoadSplitAsync(_dir.Combine("cache"), _progress.Add);

        var all = split.Train.Count + split.HeldOut.Count;
        Assert.Equal(12, all);
        Assert.Equal((3, 32, 32), (split.Train.Channels, split.Train.Height, split.Train.Width));
        Assert.Equal(IconsDataset.Classes, split.Train.ClassNames);
        // The transparent lower-right triangle of every icon is white.
        Assert.Equal(((byte)255, (byte)255, (byte)255), TestImages.Rgb(split.Train.Pixels, 0, 32, 32, 31, 31));
        Assert.Contains(_progress, line => line.Contains("12 icons in 6 classes"));
        Assert.DoesNotContain(_progress, line => line.Contains("downloading"));
    }

    [Fact]
    public void EachClassKeepsTheCapIconsWithTheSmallestHashes()
    {
        FakeCache();
        for (var i = 0; i < IconsDataset.PerClassCap; i++)
            Icon("oxygen-icon-theme", "oxygen", $"base/32x32/apps/many-{i:D3}.png", new SKColor((byte)i, (byte)(i / 256), 7));

        var apps = IconsDataset.SelectClasses(_dir.Combine("cache"))[1];
        Assert.Equal(IconsDataset.PerClassCap, apps.Files.Count);
        string Hash(string file) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));
        var kept = apps.Files.Select(Hash).ToHashSet();
        var dropped = Directory.GetFiles(_dir.Combine("cache", "oxygen-icon-theme", "usr", "share", "icons", "oxygen", "base", "32x32", "apps"))
            .Select(Hash).Where(h => !kept.Contains(h)).ToList();
        Assert.Equal(2, dropped.Count);
        Assert.All(dropped, d => Assert.True(string.CompareOrdinal(d, kept.Max(StringComparer.Ordinal)) > 0));
    }

    [Fact]
    public void AMissingPackageFolderIsNamed()
    {
        var e = Assert.Throws<DataFormatException>(() => IconsDataset.SelectClasses(_dir.Combine("cache")));
        Assert.Contains("oxygen-icon-theme is not unpacked", e.Message);
    }

    [Fact]
    public async Task AnUnknownPackageFailsNamingItAndSuggestingAnUpdate()
    {
        var e = await Assert.ThrowsAsync<PackageFetchException>(() =>
            DebianPackages.FetchAsync(_dir.Path, "tessera-no-such-package", _ => true, _progress.Add));
        Assert.Contains("apt-get download tessera-no-such-package failed", e.Message);
        Assert.Contains("apt-get update", e.Message);
        Assert.Equal([], Directory.GetFileSystemEntries(_dir.Path));
    }

    /// <summary>The real thing: downloads the three theme packages (about 63 MB) and imports them; about 15 s.</summary>
    [Fact]
    public async Task InstallsFromDebianPackagesAsThreeChannel32x32Classes()
    {
        var cache = _dir.Combine("cache");
        var split = await IconsDataset.LoadSplitAsync(cache, _progress.Add);

        Assert.All(IconsDataset.Sources, s => Assert.NotNull(DebianPackages.FetchedVersion(Path.Combine(cache, s.Package))));
        Assert.All(IconsDataset.Sources, s => Assert.True(File.Exists(Path.Combine(cache, s.Package, "usr", "share", "doc", s.Package, "copyright"))));
        Assert.Contains(_progress, line => line.StartsWith("downloading Debian package oxygen-icon-theme", StringComparison.Ordinal));

        var store = new LocalArtifactStore(_dir.Combine("store"));
        var manifest = await DatasetStore.WriteAsync(store, "icons-test", split.Train, split.HeldOut, trainShards: 4);
        Assert.Equal((3, 32, 32), (manifest.Channels, manifest.Height, manifest.Width));
        Assert.Equal(IconsDataset.Classes, manifest.ClassNames);
        var counts = split.Train.CountPerClass().Zip(split.HeldOut.CountPerClass(), (a, b) => a + b).ToArray();
        Assert.All(counts, n => Assert.InRange(n, 80, IconsDataset.PerClassCap));
        Assert.InRange(counts.Sum(), 1_500, 6 * IconsDataset.PerClassCap);
        Assert.All(split.HeldOut.CountPerClass(), n => Assert.InRange(n, 8, 40));
    }
}
