using System.Buffers.Binary;
using System.IO.Compression;
using Tessera.Infra.Data;
using Tessera.Infra.Storage;

namespace Tessera.Tests.Infra;

public sealed class IdxImporterTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte[] ImagesIdx(int count, int rows, int cols, uint magic = IdxImporter.ImagesMagic)
    {
        var bytes = new byte[16 + count * rows * cols];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, magic);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4), (uint)count);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(8), (uint)rows);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(12), (uint)cols);
        for (var i = 16; i < bytes.Length; i++)
            bytes[i] = (byte)i;
        return bytes;
    }

    private static byte[] LabelsIdx(params byte[] labels)
    {
        var bytes = new byte[8 + labels.Length];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, IdxImporter.LabelsMagic);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4), (uint)labels.Length);
        labels.CopyTo(bytes, 8);
        return bytes;
    }

    private static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Optimal))
            gz.Write(bytes);
        return output.ToArray();
    }

    private string Save(string name, byte[] bytes)
    {
        var path = _dir.Combine(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void ReadsPlainAndGzippedFiles()
    {
        var images = Save("images.idx3-ubyte.gz", Gzip(ImagesIdx(4, 3, 2)));
        var labels = Save("labels.idx1-ubyte", LabelsIdx(2, 0, 1, 2));

        var read = IdxImporter.Read(images, labels);

        Assert.Equal((4, 1, 3, 2), (read.Count, read.Channels, read.Height, read.Width));
        Assert.Equal(["0", "1", "2"], read.ClassNames);
        Assert.Equal([2, 0, 1, 2], read.Labels);
        Assert.Equal(ImagesIdx(4, 3, 2)[16..], read.Pixels);
    }

    [Fact]
    public void WrongMagicIsRejectedNamingTheFile()
    {
        var labels = Save("labels", LabelsIdx(0, 1));
        var swapped = Save("images", LabelsIdx(0, 1));
        var e = Assert.Throws<DataFormatException>(() => IdxImporter.Read(swapped, labels));
        Assert.Equal(swapped, e.File);
        Assert.Contains("magic number is 0x00000801, expected 0x00000803", e.Problem);
        Assert.Contains("swapped", e.Problem);

        var images = Save("images2", ImagesIdx(2, 2, 2));
        var badLabels = Save("labels2", ImagesIdx(2, 2, 2, magic: 0x12345678));
        e = Assert.Throws<DataFormatException>(() => IdxImporter.Read(images, badLabels));
        Assert.StartsWith($"{badLabels}: not an IDX label file", e.Message);
    }

    [Fact]
    public void TruncatedFilesAreRejected()
    {
        var labels = Save("labels", LabelsIdx(0, 1, 2));
        var full = ImagesIdx(3, 4, 4);
        var cut = Save("images", full[..^5]);
        var e = Assert.Throws<DataFormatException>(() => IdxImporter.Read(cut, labels));
        Assert.Equal(cut, e.File);
        Assert.StartsWith("truncated: header promises 3 images of 4x4", e.Problem);

        var header = Save("header-only", full[..10]);
        e = Assert.Throws<DataFormatException>(() => IdxImporter.Read(header, labels));
        Assert.StartsWith($"{header}: truncated", e.Message);

        var images = Save("images-ok", full);
        var shortLabels = Save("labels-cut", LabelsIdx(0, 1, 2)[..^1]);
        e = Assert.Throws<DataFormatException>(() => IdxImporter.Read(images, shortLabels));
        Assert.StartsWith($"{shortLabels}: truncated", e.Message);

        var trailing = Save("images-long", [.. full, 1, 2]);
        e = Assert.Throws<DataFormatException>(() => IdxImporter.Read(trailing, labels));
        Assert.Contains("2 unexpected bytes", e.Message);
    }

    [Fact]
    public void CountMismatchBetweenTheFilesIsRejected()
    {
        var images = Save("images", ImagesIdx(3, 2, 2));
        var labels = Save("labels", LabelsIdx(0, 1));
        var e = Assert.Throws<DataFormatException>(() => IdxImporter.Read(images, labels));
        Assert.Equal($"{labels}: has 2 labels but {images} has 3 images", e.Message);
    }

    [Fact]
    public async Task BadInputWritesNothingAndGoodInputImportsASplitDataset()
    {
        var store = new LocalArtifactStore(_dir.Combine("store"));
        var images = Save("images", ImagesIdx(40, 2, 2));
        var labels = Save("labels", LabelsIdx(Enumerable.Range(0, 40).Select(i => (byte)(i % 4)).ToArray()));
        var bad = Save("bad", ImagesIdx(40, 2, 2)[..^1]);

        await Assert.ThrowsAsync<DataFormatException>(() => IdxImporter.ImportAsync(store, "digits", bad, labels));
        Assert.False(Directory.Exists(_dir.Combine("store")));

        var manifest = await IdxImporter.ImportAsync(store, "digits", images, labels, new ImportOptions { HeldOutFraction = 0.25, TrainShards = 2 });
        // 10 images per class; 0.25 × 10 = 2.5 rounds away from zero to 3 held out per class.
        Assert.Equal((28, 12), (manifest.TrainCount, manifest.HeldOutCount));
        var heldOut = await DatasetStore.ReadSplitAsync(store, manifest, manifest.HeldOut);
        Assert.All(Enumerable.Range(0, 4), k => Assert.Equal(3, heldOut.Labels.Count(l => l == k)));
    }
}
