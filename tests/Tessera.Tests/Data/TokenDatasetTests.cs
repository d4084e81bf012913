using Tessera.Infra.Data;
using Tessera.Infra.Storage;

namespace Tessera.Tests.Data;

/// <summary>Token shards: round trip, and refusal of tokens from another tokenizer or a corrupt file.</summary>
public sealed class TokenDatasetTests : IDisposable
{
    readonly string _root = Path.Combine(Path.GetTempPath(), $"tessera-tokens-{Guid.NewGuid():N}");
    readonly LocalArtifactStore _store;
    static readonly string ShaA = new('a', 64), ShaB = new('b', 64);
    static readonly int[] Scales = [1, 2];

    public TokenDatasetTests() => _store = new LocalArtifactStore(_root);

    public void Dispose() { if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true); }

    static DatasetManifest Images => new("digits", ["zero", "one"], 1, 4, 4, [], []);

    static TokenShard Shard(string sha, int count, int seed) =>
        new(sha, Scales, 16, Enumerable.Range(seed, count * 5).Select(t => t % 16).ToArray(), Enumerable.Range(0, count).Select(i => i % 2).ToArray());

    [Fact]
    public async Task WrittenTokensReadBackUnderTheSameTokenizer()
    {
        await TokenDataset.WriteAsync(_store, Images, [Shard(ShaA, 3, 0), Shard(ShaA, 2, 7)], [Shard(ShaA, 2, 3)]);
        var manifest = await TokenDataset.ReadManifestAsync(_store, "digits", ShaA, Scales);
        Assert.Equal(5, manifest.Length);
        Assert.Equal([3, 2], manifest.Train.Select(e => e.Count));
        var shard = await TokenDataset.ReadShardAsync(_store, manifest, manifest.Train[1]);
        Assert.Equal(Shard(ShaA, 2, 7).Tokens, shard.Tokens);
        Assert.Equal(Shard(ShaA, 2, 7).Labels, shard.Labels);
    }

    [Fact]
    public async Task TokensOfAnotherTokenizerAreRefusedWithBothHashes()
    {
        await TokenDataset.WriteAsync(_store, Images, [Shard(ShaA, 3, 0)], [Shard(ShaA, 1, 0)]);
        var missing = await Assert.ThrowsAsync<DataFormatException>(() => TokenDataset.ReadManifestAsync(_store, "digits", ShaB, Scales));
        Assert.Contains("run a `tokenize` stage", missing.Message);

        // A shard of tokenizer B copied into tokenizer A's folder (same path, recorded checksum) is still refused.
        var manifest = await TokenDataset.ReadManifestAsync(_store, "digits", ShaA, Scales);
        var written = await _store.WriteAsync(manifest.Train[0].Path, new MemoryStream(Shard(ShaB, 3, 0).ToBytes()));
        var forged = manifest with { Train = [manifest.Train[0] with { Sha256 = written.Sha256 }] };
        var error = await Assert.ThrowsAsync<TokenizerMismatchException>(() => TokenDataset.ReadShardAsync(_store, forged, forged.Train[0]));
        Assert.Contains("bbbbbbbbbbbb", error.Message);
        Assert.Contains("aaaaaaaaaaaa", error.Message);
        Assert.Contains(manifest.Train[0].Path, error.Message);
    }

    [Fact]
    public async Task ChangedShardFailsItsChecksum()
    {
        var manifest = await TokenDataset.WriteAsync(_store, Images, [Shard(ShaA, 3, 0)], [Shard(ShaA, 1, 0)]);
        await _store.WriteAsync(manifest.Train[0].Path, new MemoryStream(Shard(ShaA, 3, 1).ToBytes()));
        var error = await Assert.ThrowsAsync<DataFormatException>(() => TokenDataset.ReadShardAsync(_store, manifest, manifest.Train[0]));
        Assert.Contains("checksum mismatch", error.Message);
    }

    [Fact]
    public void TruncatedOrForeignBytesAreRejected()
    {
        byte[] bytes = Shard(ShaA, 3, 0).ToBytes();
        Assert.Contains("truncated", Assert.Throws<DataFormatException>(() => TokenShard.Parse("t.tokens", bytes.AsSpan(0, bytes.Length - 1))).Message);
        Assert.Contains("bad magic", Assert.Throws<DataFormatException>(() => TokenShard.Parse("t.tokens", new byte[100])).Message);
    }

    [Fact]
    public void KeyDependsOnTokenizerAndScales()
    {
        Assert.NotEqual(TokenDataset.Key(ShaA, [1, 2]), TokenDataset.Key(ShaB, [1, 2]));
        Assert.NotEqual(TokenDataset.Key(ShaA, [1, 2]), TokenDataset.Key(ShaA, [2]));
        Assert.Equal(TokenDataset.Key(ShaA, [1, 2]), TokenDataset.Key(ShaA, [1, 2]));
    }
}
