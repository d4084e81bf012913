using System.Security.Cryptography;
using Tessera.Infra.Data;
using Tessera.Infra.Storage;

namespace Tessera.Tests.Infra;

public sealed class BundledMnistTests
{
    private static byte[] Resource(string name)
    {
        using var stream = typeof(BundledMnist).Assembly.GetManifestResourceStream(name);
        Assert.NotNull(stream);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    [Fact]
    public void ChecksumConstantAgreesWithSha256SumsAndTheEmbeddedFile()
    {
        // SHA256SUMS is embedded next to the data so this check does not depend on where the tests run.
        var sums = System.Text.Encoding.ASCII.GetString(Resource(BundledMnist.Sha256SumsResourceName));
        var line = Assert.Single(sums.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.EndsWith("  mnist-10k.bin.gz"));
        Assert.Equal(BundledMnist.Sha256, line[..64]);
        Assert.Equal(BundledMnist.Sha256, Convert.ToHexStringLower(SHA256.HashData(Resource(BundledMnist.ResourceName))));
    }

    [Fact]
    public void LoadsTenThousandDigitsWithPixelsInRange()
    {
        var all = BundledMnist.Load();
        Assert.Equal(10_000, all.Count);
        Assert.Equal((1, 28, 28), (all.Channels, all.Height, all.Width));
        Assert.Equal([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978], all.CountPerClass());
        Assert.Equal(0, all.Pixels[0]); // top-left corner is background
        Assert.Equal(255, all.Pixels.Max());
    }

    [Fact]
    public void FixedSplitHoldsOutTheFirstHundredOfEachDigit()
    {
        var all = BundledMnist.Load();
        var split = BundledMnist.LoadSplit();

        Assert.Equal(9_000, split.Train.Count);
        Assert.Equal(1_000, split.HeldOut.Count);
        Assert.All(split.HeldOut.CountPerClass(), c => Assert.Equal(100, c));
        // Held-out image 0 of digit d is the first image of digit d in file order.
        var firstOfDigit3 = Array.IndexOf(all.Labels, 3);
        Assert.Equal(all.Pixels.AsSpan(firstOfDigit3 * 784, 784).ToArray(), split.HeldOut.Pixels.AsSpan(300 * 784, 784).ToArray());
        // Train image 0 is the 101st zero.
        Assert.Equal(all.Pixels.AsSpan(100 * 784, 784).ToArray(), split.Train.Pixels.AsSpan(0, 784).ToArray());
    }

    [Fact]
    public void ChecksumMismatchNamesTheResource()
    {
        var gz = Resource(BundledMnist.ResourceName);
        gz[^10] ^= 0xFF;
        var e = Assert.Throws<DataFormatException>(() => BundledMnist.Decode(BundledMnist.ResourceName, gz, BundledMnist.Sha256));
        Assert.StartsWith($"{BundledMnist.ResourceName}: checksum mismatch", e.Message);
    }

    [Fact]
    public async Task EnsureBuiltinImportsOnceWithTheFixedSplit()
    {
        using var dir = new TempDirectory();
        var store = new LocalArtifactStore(dir.Path);

        var manifest = await DatasetStore.EnsureBuiltinAsync(store, "mnist", trainShards: 4);
        Assert.Equal(4, manifest.Train.Count);
        Assert.Equal(9_000, manifest.TrainCount);
        Assert.Equal(1_000, manifest.HeldOutCount);
        Assert.All(manifest.Train, s => Assert.Equal(2_250, s.Count));

        var heldOut = await DatasetStore.ReadSplitAsync(store, manifest, manifest.HeldOut);
        Assert.All(Enumerable.Range(0, 10), d => Assert.Equal(100, heldOut.Labels.Count(l => l == d)));
        // Round-robin sharding: every train shard holds every digit.
        var shard = await DatasetStore.ReadShardAsync(store, manifest.Train[3]);
        Assert.Equal(10, shard.Labels.Distinct().Count());

        var before = File.GetLastWriteTimeUtc(dir.Combine("datasets", "mnist", "manifest.json"));
        var again = await DatasetStore.EnsureBuiltinAsync(store, "mnist", trainShards: 8);
        Assert.Equal(4, again.Train.Count); // the existing dataset is kept, not rebuilt
        Assert.Equal(before, File.GetLastWriteTimeUtc(dir.Combine("datasets", "mnist", "manifest.json")));
    }

    [Fact]
    public async Task UnknownBuiltinListsTheKnownOnes()
    {
        using var dir = new TempDirectory();
        var e = await Assert.ThrowsAsync<ArgumentException>(() => DatasetStore.EnsureBuiltinAsync(new LocalArtifactStore(dir.Path), "cifar10", 1));
        Assert.Contains("'cifar10'", e.Message);
        Assert.Contains("mnist", e.Message);
        Assert.Empty(dir.AllFiles());
    }
}
