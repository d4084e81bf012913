using System.Security.Cryptography;
using Tessera.Infra.Storage;

namespace Tessera.Tests.Infra;

public sealed class LocalArtifactStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly LocalArtifactStore _store;

    public LocalArtifactStoreTests() => _store = new LocalArtifactStore(_dir.Path);

    public void Dispose() => _dir.Dispose();

    private static byte[] Content(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private async Task<byte[]> ReadAsync(string path)
    {
        await using var stream = await _store.OpenReadAsync(path);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    [Fact]
    public async Task RecordedChecksumIsSha256OfContent()
    {
        var content = Content(300_000, 1);
        var written = await _store.WriteAsync("runs/x/model.bin", new MemoryStream(content));

        var expected = Convert.ToHexStringLower(SHA256.HashData(content));
        Assert.Equal(new ArtifactRef("runs/x/model.bin", expected, content.Length), written);
        Assert.Equal(written, await _store.GetAsync("runs/x/model.bin"));
        Assert.Equal(content, await ReadAsync("runs/x/model.bin"));
        Assert.Equal($"{expected} {content.Length}\n", File.ReadAllText(_dir.Combine("runs", "x", "model.bin.sha256")));
    }

    [Fact]
    public async Task CrashMidWriteKeepsPreviousArtifactAndLeavesNoTempFile()
    {
        var v1 = Content(100_000, 2);
        var v1Ref = await _store.WriteAsync("ckpt/model.bin", new MemoryStream(v1));

        var v2 = Content(200_000, 3);
        var crash = await Assert.ThrowsAsync<IOException>(() => _store.WriteAsync("ckpt/model.bin", new CrashingStream(v2, 150_000)));
        Assert.Contains("simulated crash", crash.Message);

        Assert.Equal(v1, await ReadAsync("ckpt/model.bin"));
        Assert.Equal(v1Ref, await _store.GetAsync("ckpt/model.bin"));
        Assert.Equal(["ckpt/model.bin"], await _store.ListAsync(""));
        Assert.Equal(["ckpt/model.bin", "ckpt/model.bin.sha256"], _dir.AllFiles());
    }

    [Fact]
    public async Task CrashMidWriteOfNewPathMakesNothingVisible()
    {
        await Assert.ThrowsAsync<IOException>(() => _store.WriteAsync("a/new.bin", new CrashingStream(Content(10_000, 4), 5_000)));

        Assert.False(await _store.ExistsAsync("a/new.bin"));
        Assert.Empty(await _store.ListAsync(""));
        await Assert.ThrowsAsync<ArtifactNotFoundException>(() => _store.GetAsync("a/new.bin"));
        Assert.Empty(_dir.AllFiles());
    }

    [Fact]
    public async Task CancelledWriteIsAbandonedLikeACrash()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _store.WriteAsync("c.bin", new MemoryStream(Content(10, 5)), cts.Token));
        Assert.Empty(_dir.AllFiles());
    }

    [Fact]
    public async Task OverwriteReplacesContentAndChecksum()
    {
        await _store.WriteAsync("report.json", new MemoryStream("{\"v\":1}"u8.ToArray()));
        var v2 = "{\"v\":2,\"longer\":true}"u8.ToArray();
        var written = await _store.WriteAsync("report.json", new MemoryStream(v2));

        Assert.Equal(v2, await ReadAsync("report.json"));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(v2)), (await _store.GetAsync("report.json")).Sha256);
        Assert.Equal(written, await _store.GetAsync("report.json"));
        // The sidecar is narrowed back to the single committed entry.
        Assert.Single(File.ReadAllLines(_dir.Combine("report.json.sha256")));
        Assert.Equal(["report.json", "report.json.sha256"], _dir.AllFiles());
    }

    [Fact]
    public async Task SidecarLeftWidenedByACrashBeforeTheRenameStillDescribesTheOldData()
    {
        // State after a crash between "widen the sidecar" and "rename the data": the sidecar lists the
        // incoming version first, the old data is still in place. Same length, so only the hash can tell.
        var old = Content(4096, 6);
        var oldRef = await _store.WriteAsync("m.bin", new MemoryStream(old));
        var incoming = Convert.ToHexStringLower(SHA256.HashData(Content(4096, 7)));
        File.WriteAllText(_dir.Combine("m.bin.sha256"), $"{incoming} 4096\n{oldRef.Sha256} 4096\n");

        Assert.Equal(oldRef, await _store.GetAsync("m.bin"));

        var next = Content(50, 8);
        var nextRef = await _store.WriteAsync("m.bin", new MemoryStream(next));
        Assert.Equal(nextRef, await _store.GetAsync("m.bin"));
    }

    [Fact]
    public async Task SidecarThatMatchesNeitherVersionIsReported()
    {
        await _store.WriteAsync("m.bin", new MemoryStream(Content(100, 9)));
        // A lone entry is trusted when the length matches (hashing every Get would be too slow), so a
        // damaged sidecar shows up as a length that describes no version of the data.
        File.WriteAllText(_dir.Combine("m.bin.sha256"), $"{new string('0', 64)} 99\n");
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => _store.GetAsync("m.bin"));
        Assert.Contains("m.bin", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/etc/passwd")]
    [InlineData("a/../../b")]
    [InlineData("..")]
    [InlineData("./a")]
    [InlineData("a//b")]
    [InlineData("a/")]
    [InlineData("a\\b")]
    [InlineData("C:/x")]
    [InlineData("dir/.tmp-123")]
    [InlineData("model.bin.sha256")]
    public async Task BadPathKeysAreRejectedWithTheKeyInTheMessage(string path)
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => _store.WriteAsync(path, new MemoryStream([1, 2, 3])));
        Assert.Contains($"'{path}'", e.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => _store.OpenReadAsync(path));
        await Assert.ThrowsAsync<ArgumentException>(() => _store.GetAsync(path));
        Assert.Empty(_dir.AllFiles());
    }

    [Fact]
    public async Task MissingArtifactsThrowNotFound()
    {
        var e = await Assert.ThrowsAsync<ArtifactNotFoundException>(() => _store.OpenReadAsync("no/such.bin"));
        Assert.Contains("no/such.bin", e.Message);
        await Assert.ThrowsAsync<ArtifactNotFoundException>(() => _store.GetAsync("no/such.bin"));
        Assert.False(await _store.ExistsAsync("no/such.bin"));
    }

    [Fact]
    public async Task ListFiltersByPrefixSortsOrdinallyAndSkipsBookkeepingFiles()
    {
        await StoreListing.CheckPrefixesAsync(_store, afterWrites: () =>
            File.WriteAllBytes(_dir.Combine("datasets", "mnist", ".tmp-abandoned-x"), [1]));
        // A prefix picks the directory to walk, so it must not lead out of the store.
        await Assert.ThrowsAsync<ArgumentException>(() => _store.ListAsync("/etc/"));
    }

    [Fact]
    public async Task ChecksumLookupsDuringOverwritesAlwaysDescribeACommittedVersion()
    {
        // Same-length versions force the sidecar resolution to hash; a third with another length does not.
        byte[][] versions = [Content(8192, 12), Content(8192, 13), Content(5000, 14)];
        var refs = versions.Select(v => Convert.ToHexStringLower(SHA256.HashData(v))).ToHashSet();
        await _store.WriteAsync("hot.bin", new MemoryStream(versions[0]));

        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            for (var i = 1; i <= 60 && !stop.IsCancellationRequested; i++)
                await _store.WriteAsync("hot.bin", new MemoryStream(versions[i % versions.Length]));
        });
        var lookups = 0;
        try
        {
            while (!writer.IsCompleted)
            {
                var found = await _store.GetAsync("hot.bin");
                Assert.Contains(found.Sha256, refs);
                lookups++;
            }
        }
        finally
        {
            // Stop the writer before the temp directory is deleted, also when an assertion failed.
            await stop.CancelAsync();
            await writer;
        }
        Assert.True(lookups > 0);
    }

    [Fact]
    public async Task ReaderKeepsTheVersionItOpenedWhileAWriterReplacesIt()
    {
        var v1 = Content(1000, 10);
        await _store.WriteAsync("x.bin", new MemoryStream(v1));
        await using var reader = await _store.OpenReadAsync("x.bin");
        await _store.WriteAsync("x.bin", new MemoryStream(Content(2000, 11)));

        using var buffer = new MemoryStream();
        await reader.CopyToAsync(buffer);
        Assert.Equal(v1, buffer.ToArray());
    }
}
