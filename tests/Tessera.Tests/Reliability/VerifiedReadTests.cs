using System.Security.Cryptography;
using Tessera.Stages;
using Tessera.Infra.Data;
using Tessera.Infra.Storage;
using Tessera.Tests.Generators;
using Tessera.Tests.Infra;
using Tessera.Trainers;
using Tessera.Trainers.Generators;
using static TorchSharp.torch;

namespace Tessera.Tests.Reliability;

/// <summary>
/// Every read through the artifact store is checked against the SHA-256 recorded when the artifact was written, in the
/// same pass as the loader reads it: a damaged checkpoint or shard fails with <see cref="ArtifactCorruptException"/>
/// naming the path and both hashes, before any parser sees its bytes.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class VerifiedReadTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly LocalArtifactStore _store;

    public VerifiedReadTests()
    {
        TorchRuntime.Initialize(2);
        _store = new LocalArtifactStore(_dir.Path);
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>Flips one bit in the middle of the stored file, behind the store's back (as a disk or a copy would).</summary>
    private string FlipBit(string key)
    {
        var file = _dir.Combine(key.Split('/'));
        var bytes = File.ReadAllBytes(file);
        bytes[bytes.Length / 2] ^= 0x10;
        File.WriteAllBytes(file, bytes);
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    private async Task<byte[]> ReadAllAsync(string key)
    {
        await using var stream = await _store.OpenReadAsync(key);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    [Fact]
    public async Task AFlippedBitFailsTheReadNamingPathAndBothHashes()
    {
        var content = Enumerable.Range(0, 100_000).Select(i => (byte)i).ToArray();
        var written = await _store.WriteAsync("runs/a/blob.bin", new MemoryStream(content));
        Assert.Equal(content, await ReadAllAsync("runs/a/blob.bin")); // intact: reads as written

        var actual = FlipBit("runs/a/blob.bin");
        var error = await Assert.ThrowsAsync<ArtifactCorruptException>(() => ReadAllAsync("runs/a/blob.bin"));
        Assert.Equal("runs/a/blob.bin", error.Path);
        Assert.Equal(written.Sha256, error.ExpectedSha256);
        Assert.Equal(actual, error.ActualSha256);
        Assert.Contains($"{_store.Location}/runs/a/blob.bin: corrupt artifact", error.Message);
        Assert.Contains(written.Sha256, error.Message);
        Assert.Contains(actual, error.Message);
    }

    [Fact]
    public async Task ATruncatedFileFailsAtOpen()
    {
        var written = await _store.WriteAsync("runs/a/t.bin", new MemoryStream(new byte[5000]));
        var file = _dir.Combine("runs", "a", "t.bin");
        File.WriteAllBytes(file, new byte[4000]);
        var error = await Assert.ThrowsAsync<ArtifactCorruptException>(() => _store.OpenReadAsync("runs/a/t.bin"));
        Assert.Equal(written.Sha256, error.ExpectedSha256);
        Assert.Contains("(4000 bytes)", error.Message);
        Assert.Contains("(5000 bytes)", error.Message);
    }

    [Fact]
    public async Task AFileTheStoreDidNotWriteIsReadAsItIs()
    {
        // e.g. log.jsonl, which grows line by line beside the artifacts and has no sidecar.
        Directory.CreateDirectory(_dir.Combine("runs"));
        File.WriteAllText(_dir.Combine("runs", "log.jsonl"), "{}\n");
        Assert.Equal("{}\n"u8.ToArray(), await ReadAllAsync("runs/log.jsonl"));
    }

    [Fact]
    public async Task ACorruptCheckpointIsReportedBeforeTheZipReaderSeesIt()
    {
        using var trainer = new GeneratorTrainer(GptGeneratorTests.Tiny with { Steps = 1 }, CPU, seed: 1);
        using var buffer = new MemoryStream();
        trainer.SaveCheckpoint(buffer, "spec");
        const string key = "exp/checkpoints/generator.ckpt";
        var written = await _store.WriteAsync(key, new MemoryStream(buffer.ToArray()));
        using (var stream = await _store.OpenReadAsync(key))
        using (var restored = GeneratorTrainer.LoadCheckpoint(stream, CPU))
            Assert.Equal(trainer.Step, restored.Step); // loads while intact

        FlipBit(key);
        var error = Assert.Throws<ArtifactCorruptException>(() =>
        {
            using var stream = _store.OpenReadAsync(key).GetAwaiter().GetResult();
            using var _ = GeneratorTrainer.LoadCheckpoint(stream, CPU);
        });
        Assert.Equal(key, error.Path);
        Assert.Equal(written.Sha256, error.ExpectedSha256);
        // The stage loaders go through the same read path.
        Assert.Throws<ArtifactCorruptException>(() => StageCheckpoints.LoadTokenizer(_store, new StageArtifacts("exp", "generator"), CPU, CancellationToken.None));
    }

    [Fact]
    public async Task ACorruptImageShardIsReportedWithItsPath()
    {
        var manifest = await DatasetStore.WriteAsync(_store, "toy", DatasetStoreTests.Numbered(20, 2), DatasetStoreTests.Numbered(4, 2), trainShards: 2);
        var entry = manifest.Train[1];
        FlipBit(entry.Path);
        var error = await Assert.ThrowsAsync<ArtifactCorruptException>(() => DatasetStore.ReadShardAsync(_store, entry));
        Assert.Equal(entry.Path, error.Path);
        Assert.Equal(entry.Sha256, error.ExpectedSha256);
        Assert.IsAssignableFrom<DataFormatException>(error);
    }
}
