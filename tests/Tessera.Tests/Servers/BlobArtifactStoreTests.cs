using System.Security.Cryptography;
using Azure.Storage.Blobs;
using Tessera.Infra.Storage;
using Tessera.Tests.Infra;

namespace Tessera.Tests.Servers;

/// <summary>The blob artifact store against a real Azurite (started by infra/scripts/test.sh), one fresh container per test.</summary>
public sealed class BlobArtifactStoreTests : IAsyncLifetime
{
    // Small blocks so that a few KB already make a multi-block write, with uncommitted blocks to observe.
    const int BlockSize = 1024;
    readonly BlobContainerClient _container = new BlobServiceClient(TestServers.Blob).GetBlobContainerClient($"test-{Guid.NewGuid():N}");
    readonly BlobArtifactStore _store;

    public BlobArtifactStoreTests() => _store = new BlobArtifactStore(_container, BlockSize);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _container.DeleteIfExistsAsync();

    static byte[] Content(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    static string Sha(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    async Task<byte[]> ReadAsync(string path)
    {
        await using var stream = await _store.OpenReadAsync(path);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(BlockSize)]
    [InlineData(5 * BlockSize + 17)]
    public async Task RoundTripKeepsContentAndRecordsItsSha256(int length)
    {
        var content = Content(length, length);
        var written = await _store.WriteAsync("runs/x/model.bin", new MemoryStream(content));

        Assert.Equal(new ArtifactRef("runs/x/model.bin", Sha(content), length), written);
        Assert.Equal(written, await _store.GetAsync("runs/x/model.bin"));
        Assert.Equal(content, await ReadAsync("runs/x/model.bin"));
        Assert.True(await _store.ExistsAsync("runs/x/model.bin"));
        var properties = await _container.GetBlobClient("runs/x/model.bin").GetPropertiesAsync();
        Assert.Equal(Sha(content), properties.Value.Metadata[BlobArtifactStore.Sha256Metadata]);
    }

    [Fact]
    public async Task ABlobChangedBehindTheStoresBackFailsItsReadNamingBothHashes()
    {
        var content = Content(4000, 7);
        var written = await _store.WriteAsync("runs/x/model.ckpt", new MemoryStream(content));
        var damaged = content.ToArray();
        damaged[2000] ^= 0x01;
        // Rewritten with the old metadata kept, as a faulty copy or a hand edit would leave it.
        var blob = _container.GetBlobClient("runs/x/model.ckpt");
        await blob.UploadAsync(new BinaryData(damaged), new Azure.Storage.Blobs.Models.BlobUploadOptions
        {
            Metadata = new Dictionary<string, string> { [BlobArtifactStore.Sha256Metadata] = written.Sha256 },
        });
        var error = await Assert.ThrowsAsync<ArtifactCorruptException>(() => ReadAsync("runs/x/model.ckpt"));
        Assert.Equal(written.Sha256, error.ExpectedSha256);
        Assert.Equal(Sha(damaged), error.ActualSha256);
        Assert.Contains("runs/x/model.ckpt", error.Message);
    }

    [Fact]
    public async Task OverwriteReplacesContentAndChecksum()
    {
        await _store.WriteAsync("report.json", new MemoryStream(Content(3000, 1)));
        var v2 = Content(1500, 2);
        var written = await _store.WriteAsync("report.json", new MemoryStream(v2));

        Assert.Equal(v2, await ReadAsync("report.json"));
        Assert.Equal(written, await _store.GetAsync("report.json"));
        Assert.Equal(Sha(v2), written.Sha256);
    }

    [Fact]
    public async Task UntilTheCommitReadersSeeTheOldBlobAndNothingOfTheNewOne()
    {
        var v1 = Content(2500, 3);
        var v1Ref = await _store.WriteAsync("ckpt/model.bin", new MemoryStream(v1));
        var v2 = Content(6000, 4);
        // The writer stages three blocks, then waits for us: its blocks are in the service, uncommitted.
        var source = new GatedStream(v2, gateAt: 3 * BlockSize);
        var write = _store.WriteAsync("ckpt/model.bin", source);
        var brandNew = new GatedStream(v2, gateAt: 2 * BlockSize);
        var writeNew = _store.WriteAsync("ckpt/other.bin", brandNew);
        await source.Reached;
        await brandNew.Reached;

        Assert.Equal(v1, await ReadAsync("ckpt/model.bin"));
        Assert.Equal(v1Ref, await _store.GetAsync("ckpt/model.bin"));
        Assert.False(await _store.ExistsAsync("ckpt/other.bin"));
        Assert.Equal(["ckpt/model.bin"], await _store.ListAsync(""));

        source.Release();
        brandNew.Release();
        Assert.Equal(Sha(v2), (await write).Sha256);
        await writeNew;
        Assert.Equal(v2, await ReadAsync("ckpt/model.bin"));
        Assert.Equal(v2, await ReadAsync("ckpt/other.bin"));
    }

    [Fact]
    public async Task FailedWriteLeavesTheOldBlob()
    {
        var v1 = Content(2000, 5);
        var v1Ref = await _store.WriteAsync("ckpt/model.bin", new MemoryStream(v1));

        var crash = await Assert.ThrowsAsync<IOException>(() => _store.WriteAsync("ckpt/model.bin", new CrashingStream(Content(8000, 6), 4500)));
        Assert.Contains("simulated crash", crash.Message);
        await Assert.ThrowsAsync<IOException>(() => _store.WriteAsync("ckpt/new.bin", new CrashingStream(Content(8000, 7), 4500)));

        Assert.Equal(v1, await ReadAsync("ckpt/model.bin"));
        Assert.Equal(v1Ref, await _store.GetAsync("ckpt/model.bin"));
        Assert.False(await _store.ExistsAsync("ckpt/new.bin"));
        Assert.Equal(["ckpt/model.bin"], await _store.ListAsync(""));
    }

    [Fact]
    public async Task CancelledWriteLeavesTheOldBlob()
    {
        var v1 = Content(2000, 8);
        var v1Ref = await _store.WriteAsync("c.bin", new MemoryStream(v1));
        using var cancel = new CancellationTokenSource();
        var source = new GatedStream(Content(6000, 9), gateAt: 2 * BlockSize);
        var write = _store.WriteAsync("c.bin", source, cancel.Token);
        await source.Reached;
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => write);
        Assert.Equal(v1, await ReadAsync("c.bin"));
        Assert.Equal(v1Ref, await _store.GetAsync("c.bin"));
    }

    [Fact]
    public async Task ConcurrentReadersAlwaysGetOneWholeVersion()
    {
        byte[][] versions = [Content(4 * BlockSize, 10), Content(4 * BlockSize, 11), Content(7 * BlockSize + 5, 12)];
        await _store.WriteAsync("hot.bin", new MemoryStream(versions[0]));

        var writer = Task.Run(async () =>
        {
            for (var i = 1; i <= 30; i++)
                await _store.WriteAsync("hot.bin", new MemoryStream(versions[i % versions.Length]));
        });
        var reads = 0;
        while (!writer.IsCompleted)
        {
            var read = await ReadAsync("hot.bin");
            Assert.Contains(versions, v => v.AsSpan().SequenceEqual(read));
            Assert.Contains((await _store.GetAsync("hot.bin")).Sha256, versions.Select(Sha));
            reads++;
        }
        await writer;
        Assert.True(reads > 0);
    }

    [Fact]
    public async Task MissingBlobsThrowNotFoundNamingThePath()
    {
        // Before any write the container does not exist yet; after one, only the blob is missing.
        var e = await Assert.ThrowsAsync<ArtifactNotFoundException>(() => _store.OpenReadAsync("no/such.bin"));
        Assert.Contains("no/such.bin", e.Message);
        Assert.Empty(await _store.ListAsync(""));
        Assert.False(await _store.ExistsAsync("no/such.bin"));

        await _store.WriteAsync("some.bin", new MemoryStream([1]));
        e = await Assert.ThrowsAsync<ArtifactNotFoundException>(() => _store.GetAsync("no/such.bin"));
        Assert.Contains(_store.Location, e.Message);
        await Assert.ThrowsAsync<ArtifactNotFoundException>(() => _store.OpenReadAsync("no/such.bin"));
    }

    [Fact]
    public async Task BlobWithoutChecksumMetadataIsReported()
    {
        await _container.CreateIfNotExistsAsync();
        await _container.GetBlobClient("foreign.bin").UploadAsync(new BinaryData(new byte[] { 1, 2 }));
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => _store.GetAsync("foreign.bin"));
        Assert.Contains("foreign.bin", e.Message);
        Assert.Contains("sha256", e.Message);
    }

    [Fact]
    public Task ListFiltersByPrefixAndSortsOrdinally() => StoreListing.CheckPrefixesAsync(_store);

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("a/../b")]
    [InlineData("a//b")]
    [InlineData("dir/.tmp-123")]
    [InlineData("model.bin.sha256")]
    public async Task BadPathKeysAreRejectedWithTheKeyInTheMessage(string path)
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => _store.WriteAsync(path, new MemoryStream([1, 2, 3])));
        Assert.Contains($"'{path}'", e.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => _store.GetAsync(path));
        Assert.Empty(await _store.ListAsync(""));
    }

    [Fact]
    public void BadConnectionStringIsReportedWithoutRepeatingIt()
    {
        var e = Assert.Throws<ArgumentException>(() => BlobArtifactStore.Connect("AccountName=x;AccountKey=c2VjcmV0LWtleQ==;Nonsense"));
        Assert.Contains("connection string", e.Message);
        Assert.DoesNotContain("c2VjcmV0LWtleQ", e.Message);
    }
}
