using System.IO.Compression;
using Tessera.Infra.Data;
using Tessera.Infra.Storage;
using Tessera.Tests.Generators;
using Tessera.Tests.Infra;
using Tessera.Trainers;
using Tessera.Trainers.Evaluation;
using Tessera.Trainers.Generators;
using Tessera.Trainers.Tokenizers;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Tessera.Tests.Reliability.Fuzz;

/// <summary>
/// Mutated image shards, token shards, dataset manifests and checkpoints of all three trainers, fed to their loaders:
/// every case loads or fails with a <see cref="DataFormatException"/> (or a subtype: <see cref="ArtifactCorruptException"/>,
/// <see cref="CheckpointFormatException"/>) naming the file. The parsers must also not allocate more than a small
/// multiple of their input, whatever a length field claims.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class FileFuzzTests(ITestOutputHelper output) : IDisposable
{
    readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>The allocation a parser may make: its input many times over, plus a little. A length field it trusted would blow far past it.</summary>
    static void Bounded(int inputLength, Action parse)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        parse();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (allocated > 16L * inputLength + (1 << 20))
            throw new InsufficientMemoryException($"allocated {allocated} bytes for a {inputLength}-byte input");
    }

    /// <summary>
    /// Every case fed was run, none crashed, and the mutations did reach the parser: some were refused (a mutator that
    /// changed nothing, or a loader that checked nothing, would pass every case).
    /// </summary>
    void Report(FuzzTally tally, int fed)
    {
        output.WriteLine(tally.ToString());
        Assert.True(tally.Crashes.Count == 0, tally.ToString());
        Assert.Equal(fed, tally.Cases);
        Assert.True(tally.Cases - tally.Accepted > 0, $"no case was refused: {tally}");
    }

    [Fact]
    public void MutatedImageShards()
    {
        byte[] original = ImageShard.From(DatasetStoreTests.Numbered(6, 3)).ToBytes();
        int[] lengthFields = [4, 8, 12, 16, 20, 24];
        var tally = new FuzzTally("image shards");
        for (int i = 0; i < 300; i++)
        {
            var bytes = Mutations.Bytes(original, new Random(2000 + i), lengthFields);
            string path = $"datasets/fuzz/train-{i:D5}.shard";
            tally.Run($"image shard case {i}", path, () => Bounded(bytes.Length, () => ImageShard.Parse(path, bytes)), typeof(DataFormatException));
        }
        Report(tally, 300);
    }

    [Fact]
    public async Task MutatedImageShardsThroughTheStore()
    {
        // Damage behind the store's back: the verified read must catch it before the parser, or the parser after.
        var store = new LocalArtifactStore(_dir.Path);
        var manifest = await DatasetStore.WriteAsync(store, "fuzz", DatasetStoreTests.Numbered(12, 3), DatasetStoreTests.Numbered(3, 3), trainShards: 1);
        var entry = manifest.Train[0];
        string file = _dir.Combine(entry.Path.Split('/'));
        byte[] original = File.ReadAllBytes(file);
        var tally = new FuzzTally("image shards via the store");
        for (int i = 0; i < 100; i++)
        {
            File.WriteAllBytes(file, Mutations.Bytes(original, new Random(3000 + i), [8, 12, 16, 20]));
            tally.Run($"stored shard case {i}", entry.Path, () => DatasetStore.ReadShardAsync(store, entry).GetAwaiter().GetResult(), typeof(DataFormatException));
        }
        Report(tally, 100);
    }

    [Fact]
    public void MutatedTokenShards()
    {
        int[] scales = [1, 2, 3];
        int length = scales.Sum(s => s * s), count = 5;
        var shard = new TokenShard(new string('a', 64), scales, 16, Enumerable.Range(0, count * length).Select(t => t % 16).ToArray(),
            Enumerable.Range(0, count).Select(c => c % 3).ToArray());
        byte[] original = shard.ToBytes();
        int[] lengthFields = [4, 8, 12, 16, 84, 88, 92, 96, 100];
        var tally = new FuzzTally("token shards");
        for (int i = 0; i < 300; i++)
        {
            var bytes = Mutations.Bytes(original, new Random(4000 + i), lengthFields);
            string path = $"tokens/fuzz/train-{i:D5}.tokens";
            tally.Run($"token shard case {i}", path, () => Bounded(bytes.Length, () => TokenShard.Parse(path, bytes)), typeof(DataFormatException));
        }
        Report(tally, 300);
    }

    [Fact]
    public void MutatedManifests()
    {
        var shards = new[] { new ShardEntry("datasets/fuzz/train-00000.shard", new string('b', 64), 10) };
        byte[] original = new DatasetManifest("fuzz", ["zero", "one"], 1, 28, 28, shards, shards).ToJson();
        var tally = new FuzzTally("dataset manifests");
        for (int i = 0; i < 200; i++)
        {
            var bytes = Mutations.TextOrBytes(original, new Random(5000 + i));
            string path = $"datasets/fuzz-{i}/manifest.json";
            tally.Run($"manifest case {i}", path, () => Bounded(bytes.Length, () => DatasetManifest.Parse(path, bytes)), typeof(DataFormatException));
        }
        Report(tally, 200);
    }

    [Fact]
    public void MutatedCheckpoints()
    {
        TorchRuntime.Initialize(2);
        var tokenizer = Checkpoint(s =>
        {
            using var t = new VqTokenizerTrainer(new VqTokenizerConfig { ImageSize = 28, ImageChannels = 1, HiddenChannels = 4, LatentChannels = 8, CodebookSize = 16, Steps = 1 }, CPU, 1);
            t.SaveCheckpoint(s, "spec");
        });
        var generator = Checkpoint(s =>
        {
            using var t = new GeneratorTrainer(GptGeneratorTests.Tiny with { Steps = 1 }, CPU, 1);
            t.SaveCheckpoint(s, "spec");
        });
        var classifier = Checkpoint(s =>
        {
            using var t = new DigitClassifierTrainer(new DigitClassifierConfig { ImageChannels = 1, Channels = 2, FeatureDim = 8, Steps = 1 }, CPU, 1);
            t.SaveCheckpoint(s, "spec");
        });
        (string Kind, byte[] Original, Action<Stream, string> Load)[] kinds =
        [
            ("tokenizer", tokenizer, (s, name) => { VqTokenizerTrainer.LoadCheckpoint(s, CPU, name).Dispose(); }),
            ("tokenizer model", tokenizer, (s, name) => { TokenizerCheckpoint.Load(s, CPU, name).Dispose(); }),
            ("generator", generator, (s, name) => { GeneratorTrainer.LoadCheckpoint(s, CPU, null, name).Dispose(); }),
            ("classifier", classifier, (s, name) => { DigitClassifierTrainer.LoadCheckpoint(s, CPU, name).Dispose(); }),
        ];
        var tally = new FuzzTally("checkpoints");
        for (int i = 0; i < 400; i++)
        {
            var (kind, original, load) = kinds[i % kinds.Length];
            var random = new Random(6000 + i);
            // Half the cases damage the zip as bytes, half rewrite one entry inside an intact zip (the zip's own CRC
            // would catch most byte damage before the loaders see it).
            byte[] bytes = i % 2 == 0 ? Mutations.Bytes(original, random, []) : MutateEntry(original, random);
            string name = $"fuzz-{i}/checkpoints/{kind.Replace(' ', '-')}.ckpt";
            tally.Run($"{kind} checkpoint case {i}", name, () =>
            {
                using var scope = NewDisposeScope();
                load(new MemoryStream(bytes), name);
            }, typeof(DataFormatException));
        }
        Report(tally, 400);
    }

    static byte[] Checkpoint(Action<Stream> save)
    {
        using var buffer = new MemoryStream();
        save(buffer);
        return buffer.ToArray();
    }

    /// <summary>The checkpoint with one entry removed, duplicated, or its content mutated (JSON as text, tensors as bytes).</summary>
    static byte[] MutateEntry(byte[] checkpoint, Random random)
    {
        var entries = new List<(string Name, byte[] Content)>();
        using (var zip = new ZipArchive(new MemoryStream(checkpoint), ZipArchiveMode.Read))
            foreach (var entry in zip.Entries)
            {
                using var s = entry.Open();
                using var m = new MemoryStream();
                s.CopyTo(m);
                entries.Add((entry.FullName, m.ToArray()));
            }
        int victim = random.Next(entries.Count);
        var (name, content) = entries[victim];
        switch (random.Next(6))
        {
            case 0: entries.RemoveAt(victim); break;
            case 1: entries.Insert(victim, (name, Mutations.Bytes(content, random, [0, 4, 8]))); break;
            default:
                entries[victim] = (name, name.EndsWith(".json") || name.EndsWith(".txt")
                    ? Mutations.TextOrBytes(content, random)
                    : Mutations.Bytes(content, random, Enumerable.Range(0, Math.Min(64, content.Length / 4)).Select(k => 4 * k).ToArray()));
                break;
        }
        using var output = new MemoryStream();
        using (var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (n, c) in entries)
            {
                using var s = zip.CreateEntry(n).Open();
                s.Write(c);
            }
        return output.ToArray();
    }
}
