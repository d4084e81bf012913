using System.Text;
using Tessera.Infra.Data;
using Tessera.Infra.Storage;

namespace Tessera.Tests.Infra;

public sealed class DatasetStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly LocalArtifactStore _store;

    public DatasetStoreTests() => _store = new LocalArtifactStore(_dir.Path);

    public void Dispose() => _dir.Dispose();

    /// <summary>Images whose first pixel encodes their index, so order and placement can be checked.</summary>
    internal static LabelledImages Numbered(int count, int classes, int channels = 1, int size = 4)
    {
        var per = channels * size * size;
        var pixels = new byte[count * per];
        for (var i = 0; i < count; i++)
            pixels[i * per] = (byte)i;
        return new LabelledImages(Enumerable.Range(0, classes).Select(c => $"c{c}").ToArray(), channels, size, size, pixels,
            Enumerable.Range(0, count).Select(i => i % classes).ToArray());
    }

    [Fact]
    public async Task WriteThenReadRoundTripsEverySplit()
    {
        var train = Numbered(10, 2);
        var heldOut = Numbered(3, 2);
        var manifest = await DatasetStore.WriteAsync(_store, "toy", train, heldOut, trainShards: 3);

        Assert.Equal(["datasets/toy/train-00000.shard", "datasets/toy/train-00001.shard", "datasets/toy/train-00002.shard"],
            manifest.Train.Select(s => s.Path));
        Assert.Equal([4, 3, 3], manifest.Train.Select(s => s.Count));
        Assert.Equal(["datasets/toy/heldout-00000.shard"], manifest.HeldOut.Select(s => s.Path));

        var read = await DatasetStore.ReadManifestAsync(_store, "toy");
        Assert.Equal(manifest.ToJson(), read.ToJson());
        // Round-robin: shard 1 holds images 1, 4, 7.
        var shard = await DatasetStore.ReadShardAsync(_store, read.Train[1]);
        var batch = shard.ToBatch([2, 0]);
        Assert.Equal([7, 1], new[] { batch.Pixels[0], batch.Pixels[16] }.Select(b => (int)b));
        Assert.Equal([1, 1], batch.Labels);

        var all = await DatasetStore.ReadSplitAsync(_store, read, read.HeldOut);
        Assert.Equal(3, all.Count);
        Assert.Equal(heldOut.Labels, all.Labels);
    }

    [Fact]
    public async Task ManifestIsWrittenLastAndDatasetExistsOnlyWithIt()
    {
        var train = Numbered(4, 2);
        await DatasetStore.WriteAsync(_store, "toy", train, Numbered(2, 2), trainShards: 2);
        var written = await _store.ListAsync("datasets/toy/");
        Assert.Equal(4, written.Count);

        File.Delete(_dir.Combine("datasets", "toy", "manifest.json"));
        Assert.False(await DatasetStore.ExistsAsync(_store, "toy"));
        var e = await Assert.ThrowsAsync<DatasetNotFoundException>(() => DatasetStore.ReadManifestAsync(_store, "toy"));
        Assert.Contains("'toy'", e.Message);
    }

    [Fact]
    public async Task ShardChecksumMismatchNamesTheShard()
    {
        var manifest = await DatasetStore.WriteAsync(_store, "toy", Numbered(6, 2), Numbered(2, 2), trainShards: 2);
        var entry = manifest.Train[1];
        // Replace the shard through the store with other valid content: only the manifest's hash can tell.
        await _store.WriteAsync(entry.Path, new MemoryStream(ImageShard.From(Numbered(3, 2)).ToBytes().Reverse().ToArray()));

        var e = await Assert.ThrowsAsync<DataFormatException>(() => DatasetStore.ReadShardAsync(_store, entry));
        Assert.Equal(entry.Path, e.File);
        Assert.Contains("checksum mismatch", e.Message);
        Assert.Contains(entry.Sha256, e.Message);
    }

    [Fact]
    public async Task ManifestWithWrongChecksumForAShardIsRejected()
    {
        var manifest = await DatasetStore.WriteAsync(_store, "toy", Numbered(6, 2), Numbered(2, 2), trainShards: 1);
        var tampered = manifest with { Train = [manifest.Train[0] with { Sha256 = new string('a', 64) }] };
        await _store.WriteAsync("datasets/toy/manifest.json", new MemoryStream(tampered.ToJson()));

        var read = await DatasetStore.ReadManifestAsync(_store, "toy");
        var e = await Assert.ThrowsAsync<DataFormatException>(() => DatasetStore.ReadSplitAsync(_store, read, read.Train));
        Assert.StartsWith("datasets/toy/train-00000.shard: checksum mismatch", e.Message);
    }

    [Theory]
    [InlineData("{ not json", "malformed manifest")]
    [InlineData("""{"name":"toy","classNames":["a"],"channels":1,"height":4,"width":4,"heldout":[]}""", "malformed manifest")]
    [InlineData("""{"name":"toy","classNames":["a"],"channels":2,"height":4,"width":4,"train":[],"heldout":[]}""", "invalid image shape")]
    [InlineData("""{"name":"toy","classNames":["a"],"channels":1,"height":4,"width":4,"train":[{"path":"datasets/toy/../x","sha256":"00","count":1}],"heldout":[]}""", "invalid")]
    public async Task MalformedManifestIsRejectedNamingTheManifest(string json, string problem)
    {
        await _store.WriteAsync("datasets/toy/manifest.json", new MemoryStream(Encoding.UTF8.GetBytes(json)));
        var e = await Assert.ThrowsAsync<DataFormatException>(() => DatasetStore.ReadManifestAsync(_store, "toy"));
        Assert.Equal("datasets/toy/manifest.json", e.File);
        Assert.Contains(problem, e.Problem);
    }

    [Fact]
    public async Task WritingOverAnExistingDatasetFailsWithoutTouchingIt()
    {
        await DatasetStore.WriteAsync(_store, "toy", Numbered(4, 2), Numbered(2, 2), trainShards: 1);
        var before = _dir.AllFiles().ToDictionary(f => f, f => File.ReadAllBytes(_dir.Combine(f)));

        await Assert.ThrowsAsync<InvalidOperationException>(() => DatasetStore.WriteAsync(_store, "toy", Numbered(8, 2), Numbered(2, 2), 2));
        Assert.Equal(before.Keys, _dir.AllFiles());
        Assert.All(before, kv => Assert.Equal(kv.Value, File.ReadAllBytes(_dir.Combine(kv.Key))));
    }

    [Fact]
    public void ShardParserRejectsWrongMagicAndTruncation()
    {
        var bytes = ImageShard.From(Numbered(3, 2)).ToBytes();
        Assert.Equal(3, ImageShard.Parse("s.shard", bytes).Count);

        var wrongMagic = (byte[])bytes.Clone();
        wrongMagic[0] = (byte)'X';
        var e = Assert.Throws<DataFormatException>(() => ImageShard.Parse("datasets/x/train-00000.shard", wrongMagic));
        Assert.StartsWith("datasets/x/train-00000.shard: not an image shard", e.Message);

        e = Assert.Throws<DataFormatException>(() => ImageShard.Parse("datasets/x/train-00000.shard", bytes.AsSpan(0, bytes.Length - 1)));
        Assert.StartsWith("datasets/x/train-00000.shard: truncated", e.Message);
        e = Assert.Throws<DataFormatException>(() => ImageShard.Parse("datasets/x/train-00000.shard", bytes.AsSpan(0, 10)));
        Assert.StartsWith("datasets/x/train-00000.shard: truncated", e.Message);
    }
}
