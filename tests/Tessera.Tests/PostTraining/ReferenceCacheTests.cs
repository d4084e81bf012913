using Tessera.Stages;
using Tessera.Infra.Data;
using Tessera.Infra.Storage;
using Tessera.Tests.Collective;
using Tessera.Tests.Generators;
using Tessera.Tests.Infra;
using Tessera.Trainers;
using Tessera.Trainers.Data;
using Tessera.Trainers.Generators;
using Tessera.Trainers.PostTraining;
using static TorchSharp.torch;

namespace Tessera.Tests.PostTraining;

/// <summary>
/// CCA's reference log-probabilities kept per (sequence, condition) beside the token shards: the cached numbers are the
/// reference's own, the loss does not change, and a table for other tokens, another reference or with damaged bytes is
/// reported and recomputed, never used.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class ReferenceCacheTests : IDisposable
{
    private static readonly GeneratorConfig Tiny = GptGeneratorTests.Tiny;
    private static readonly string ShardSha = new('a', 64), OtherShardSha = new('b', 64), ReferenceSha = new('c', 64), OtherReferenceSha = new('d', 64);
    private readonly TempDirectory _dir = new();

    public ReferenceCacheTests() => TorchRuntime.Initialize(2);

    public void Dispose() => _dir.Dispose();

    private static GptGenerator Model(int seed)
    {
        using var g = new Generator((ulong)seed);
        return new GptGenerator(Tiny with { Dropout = 0 }, g);
    }

    /// <summary>The same 6 stored sequences every step (shard 0, indices 0-5), named as such.</summary>
    private sealed class Tracked(TokenBatch batch) : ITrackedTokenBatchSource
    {
        public int Calls { get; private set; }
        public TokenBatch Next(int batchSize) => NextTracked(batchSize).Batch;

        public (TokenBatch Batch, SampleId[] Ids) NextTracked(int batchSize)
        {
            Assert.Equal(batch.Count, batchSize);
            Calls++;
            return (batch, Enumerable.Range(0, batch.Count).Select(i => new SampleId(0, i)).ToArray());
        }
    }

    [Fact]
    public void CachedLogProbsEqualTheReferencesAndLeaveTheLossUnchanged()
    {
        var batch = CachedDpoTests.RandomBatch(6, 1);
        using var start = Model(3);
        using var policy = Model(4); // differs from the reference, so the loss is not trivial
        using var reference = new FrozenReference(start);
        var config = PostTrainingConfig.For(PostTrainingConfig.ObjectiveCca) with { Beta = 0.5, Lambda = 3, NullRatio = 0.3 };
        var table = new ReferenceLogProbTable(ShardSha, ReferenceSha, 6, Tiny.Classes + 1);
        var cache = new ReferenceScoreCache([table]);
        using var g1 = new Generator(7);
        using var g2 = new Generator(7);
        var cached = new CcaObjective(new Tracked(batch), config, g1, cache);
        var fresh = new CcaObjective(new Tracked(batch), config, g2);

        for (int step = 0; step < 4; step++) // the null draws differ per step, so later steps hit and miss
        {
            var a = cached.NextLoss(policy, reference, 6);
            var b = fresh.NextLoss(policy, reference, 6);
            Assert.Equal(b.Loss.item<float>(), a.Loss.item<float>(), 5);
            foreach (var (key, value) in b.Metrics) Assert.Equal(value, a.Metrics[key], 5);
        }
        Assert.True(cache.Hits > 0, "later steps should find the numbers of earlier ones");
        Assert.Equal(table.Filled, cache.Misses); // each entry computed once

        // Every stored entry is the reference's own log-probability of that sequence under that condition.
        var (classes_B, tokens_BL) = TokenBatchTensors.From(batch, Tiny, CPU);
        for (int condition = 0; condition <= Tiny.Classes; condition++)
        {
            var fromReference = reference.SequenceLogProbs(full(6, condition, dtype: int64), tokens_BL).data<float>().ToArray();
            for (int i = 0; i < 6; i++)
                if (table.TryGet(i, condition, out float value)) Assert.Equal(fromReference[i], value, 4);
        }
        Assert.True(table.Filled >= 6, $"at least each image under its class; {table.Filled} filled");
        _ = classes_B;
    }

    [Fact]
    public void ATableIsOnlyReadBackForItsShardAndReference()
    {
        var table = new ReferenceLogProbTable(ShardSha, ReferenceSha, 3, 4);
        table.Set(2, 1, -12.5f);
        byte[] bytes = table.ToBytes();

        var back = ReferenceLogProbTable.Parse("t.lp", bytes, ShardSha, ReferenceSha, 3, 4);
        Assert.True(back.TryGet(2, 1, out float value));
        Assert.Equal(-12.5f, value);
        Assert.False(back.TryGet(0, 0, out _));
        Assert.False(back.Changed);

        Assert.Contains("the shard changed", Assert.Throws<DataFormatException>(() => ReferenceLogProbTable.Parse("t.lp", bytes, OtherShardSha, ReferenceSha, 3, 4)).Message);
        Assert.Contains("reference checkpoint", Assert.Throws<DataFormatException>(() => ReferenceLogProbTable.Parse("t.lp", bytes, ShardSha, OtherReferenceSha, 3, 4)).Message);
        Assert.Contains("expected 3 x 5", Assert.Throws<DataFormatException>(() => ReferenceLogProbTable.Parse("t.lp", bytes, ShardSha, ReferenceSha, 3, 5)).Message);
        Assert.Contains("truncated", Assert.Throws<DataFormatException>(() => ReferenceLogProbTable.Parse("t.lp", bytes[..^4], ShardSha, ReferenceSha, 3, 4)).Message);
    }

    [Fact]
    public void AStoredTableIsReadBackAndADamagedOrStaleOneIsReportedAndRecomputed()
    {
        var store = new LocalArtifactStore(_dir.Path);
        var shards = new[] { new ShardEntry("tokens/mnist/k/train-00000.tokens", ShardSha, 3) };
        var logs = new RecordingLoggerProvider();
        var log = logs.CreateLogger("test");

        var empty = ReferenceTables.Load(store, shards, ReferenceSha, 4, log, CancellationToken.None);
        Assert.Equal(0, empty[0].Filled);
        empty[0].Set(1, 3, -7f);
        ReferenceTables.Save(store, shards, empty, CancellationToken.None);
        string path = ReferenceTables.PathOf(shards[0], ReferenceSha);
        Assert.True(File.Exists(_dir.Combine(path.Split('/'))));
        Assert.False(empty[0].Changed); // written: the next save skips it until it gains entries

        var read = ReferenceTables.Load(store, shards, ReferenceSha, 4, log, CancellationToken.None);
        Assert.True(read[0].TryGet(1, 3, out float value));
        Assert.Equal(-7f, value);
        // Another reference checkpoint has its own file: nothing of this one is used.
        Assert.Equal(0, ReferenceTables.Load(store, shards, OtherReferenceSha, 4, log, CancellationToken.None)[0].Filled);
        // The shard was re-tokenized (same path, new hash): the old table is reported and not used.
        Assert.Equal(0, ReferenceTables.Load(store, [shards[0] with { Sha256 = OtherShardSha }], ReferenceSha, 4, log, CancellationToken.None)[0].Filled);
        Assert.Contains(logs.Lines, l => l.StartsWith("Warning") && l.Contains("the shard changed"));

        // A flipped bit behind the store's back: the recorded SHA-256 no longer matches.
        string file = _dir.Combine(path.Split('/'));
        var bytes = File.ReadAllBytes(file);
        bytes[^2] ^= 0x10;
        File.WriteAllBytes(file, bytes);
        var recomputed = ReferenceTables.Load(store, shards, ReferenceSha, 4, log, CancellationToken.None);
        Assert.Equal(0, recomputed[0].Filled);
        Assert.Contains(logs.Lines, l => l.StartsWith("Warning") && l.Contains(path) && l.Contains("recomputing"));
    }
}
