using Azure.Storage.Blobs;
using Tessera.Infra.Storage;
using Tessera.Tests.Infra;

namespace Tessera.Tests.Servers;

/// <summary>
/// `tessera store verify` (<see cref="StoreVerifier"/>) re-reads every artifact of a store and names each one whose bytes
/// no longer match the SHA-256 recorded at write time: on the local store and on the blob store against Azurite.
/// </summary>
public sealed class StoreVerifierTests
{
    static readonly byte[][] Contents = [new byte[3000], Enumerable.Range(0, 5000).Select(i => (byte)i).ToArray(), "{}"u8.ToArray()];
    static readonly string[] Paths = ["exp/checkpoints/a.ckpt", "exp/checkpoints/a.resume-0.ckpt", "exp/summary.json"];

    static async Task WriteAll(IArtifactStore store)
    {
        for (int i = 0; i < Paths.Length; i++) await store.WriteAsync(Paths[i], new MemoryStream(Contents[i]));
    }

    [Fact]
    public async Task OnTheLocalStoreAFlippedBitIsNamedAndTheRestVerify()
    {
        using var dir = new TempDirectory();
        var store = new LocalArtifactStore(dir.Path);
        await WriteAll(store);
        var clean = await StoreVerifier.VerifyAsync(store);
        Assert.True(clean.Ok);
        Assert.Equal(3, clean.Artifacts);
        Assert.Equal(Contents.Sum(c => c.Length), clean.Bytes);
        Assert.Equal(0, clean.Unrecorded);

        string file = dir.Combine("exp", "checkpoints", "a.resume-0.ckpt");
        byte[] bytes = File.ReadAllBytes(file);
        bytes[100] ^= 0x04;
        File.WriteAllBytes(file, bytes);
        var report = await StoreVerifier.VerifyAsync(store);
        var problem = Assert.Single(report.Corrupt);
        Assert.Equal("exp/checkpoints/a.resume-0.ckpt", problem.Path);
        Assert.Contains("corrupt artifact", problem.Message);
        Assert.Equal(3, report.Artifacts);
        // A prefix limits the walk.
        Assert.True((await StoreVerifier.VerifyAsync(store, "exp/summary")).Ok);
    }

    [Fact]
    public async Task OnTheBlobStoreARewrittenBlobIsNamedAndABlobWithoutARecordCountedApart()
    {
        var container = new BlobServiceClient(TestServers.Blob).GetBlobContainerClient($"test-{Guid.NewGuid():N}");
        try
        {
            var store = new BlobArtifactStore(container);
            await WriteAll(store);
            Assert.True((await StoreVerifier.VerifyAsync(store)).Ok);

            // Changed behind the store's back with the old record kept, as a faulty copy would; and one it never wrote.
            var written = await store.GetAsync(Paths[1]);
            byte[] damaged = Contents[1].ToArray();
            damaged[10] ^= 0x01;
            await container.GetBlobClient(Paths[1]).UploadAsync(new BinaryData(damaged), new Azure.Storage.Blobs.Models.BlobUploadOptions
            {
                Metadata = new Dictionary<string, string> { [BlobArtifactStore.Sha256Metadata] = written.Sha256 },
            });
            await container.GetBlobClient("exp/foreign.bin").UploadAsync(new BinaryData(new byte[] { 1, 2 }));

            var report = await StoreVerifier.VerifyAsync(store);
            var problem = Assert.Single(report.Corrupt);
            Assert.Equal(Paths[1], problem.Path);
            Assert.Contains(written.Sha256, problem.Message);
            // The foreign blob has nothing to be checked against: counted apart, not passed as verified.
            Assert.Equal(4, report.Artifacts);
            Assert.Equal(1, report.Unrecorded);
        }
        finally { await container.DeleteIfExistsAsync(); }
    }
}
