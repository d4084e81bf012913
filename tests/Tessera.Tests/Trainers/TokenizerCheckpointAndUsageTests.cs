using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Tessera.Trainers;
using Tessera.Trainers.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Tests.Trainers;

[Collection(TorchCollection.Name)]
public class TokenizerCheckpointAndUsageTests
{
    private static readonly VqTokenizerConfig Tiny = MultiScaleTokenizerTests.Tiny;
    private static readonly Tessera.Infra.Data.ImageBatch HeldOut = SyntheticDigits.Batch(40, seed: 999);

    public TokenizerCheckpointAndUsageTests() => TorchRuntime.Initialize(2);

    [Theory]
    [InlineData("ema")]
    [InlineData("simvq")]
    public void MultiScaleCheckpointRoundTripGivesSameTokensAndResumesExactly(string quantizer)
    {
        var config = Tiny with { Kind = "msvq", Quantizer = quantizer, Steps = 8 };
        using var uninterrupted = new VqTokenizerTrainer(config, CPU, seed: 5);
        var expected = uninterrupted.Train(new SyntheticDigitSource(128, seed: 6), HeldOut, null, CancellationToken.None);

        // Same run, cancelled after step 4 and checkpointed.
        using var first = new VqTokenizerTrainer(config, CPU, seed: 5);
        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => first.Train(new SyntheticDigitSource(128, seed: 6), HeldOut,
            new SyncProgress(p => { if (p.Step == 4) cts.Cancel(); }), cts.Token));
        using var file = new MemoryStream();
        first.SaveCheckpoint(file, "spec");

        file.Position = 0;
        using (var model = TokenizerCheckpoint.Load(file, CPU))
        using (var scope = NewDisposeScope())
        {
            Assert.Equal("msvq", model.Kind);
            Assert.Equal(new[] { 1, 2, 3, 4, 5, 7 }, model.Scales);
            var x = ImageTensors.ToTensor(HeldOut, CPU);
            var tokens = first.Model.Encode(x);
            Assert.Equal(tokens.data<long>().ToArray(), model.Encode(x).data<long>().ToArray());
            Assert.Equal(first.Model.Decode(tokens).data<float>().ToArray(), model.Decode(tokens).data<float>().ToArray());
        }

        // The trainer restored from the same file lands exactly where the uninterrupted run did.
        file.Position = 0;
        using var restored = VqTokenizerTrainer.LoadCheckpoint(file, CPU);
        Assert.Equal(config.Resolved(), restored.Config); // the checkpoint records the downsample and schedule used
        Assert.Equal(4, restored.Step);
        var source = new SyntheticDigitSource(128, seed: 6);
        for (int i = 0; i < 4; i++) source.Next(config.BatchSize);
        var resumed = restored.Train(source, HeldOut, null, CancellationToken.None);
        Assert.Equal(expected.FinalLoss, resumed.FinalLoss);
        Assert.Equal(expected.Reconstructions.Pixels, resumed.Reconstructions.Pixels);
    }

    [Fact]
    public void FormatOneSingleScaleCheckpointStillLoads()
    {
        using var trainer = new VqTokenizerTrainer(Tiny with { Steps = 3 }, CPU, seed: 2);
        trainer.Train(new SyntheticDigitSource(64, seed: 3), HeldOut, null, CancellationToken.None);
        using var current = new MemoryStream();
        trainer.SaveCheckpoint(current, "spec");
        // Rewrite as format 1 wrote it: old format name, no kind/quantizer/scale fields in config.json.
        var v1 = Rewrite(current, (name, text) => name switch
        {
            "trainer.json" => text.Replace(VqTokenizerTrainer.CheckpointFormat, VqTokenizerTrainer.CheckpointFormatV1),
            "config.json" => WithoutKeys(text, "kind", "quantizer", "image_size", "downsample", "scale_schedule", "phi_convs", "phi_residual_ratio"),
            _ => null,
        });
        using var model = TokenizerCheckpoint.Load(v1, CPU);
        Assert.Equal("vq", model.Kind);
        using var scope = NewDisposeScope();
        var x = ImageTensors.ToTensor(HeldOut, CPU);
        Assert.Equal(trainer.Model.Encode(x).data<long>().ToArray(), model.Encode(x).data<long>().ToArray());
    }

    [Fact]
    public void EmaRestartRevivesADeliberatelyDeadCode()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(7);
        var codebook = new EmaQuantizer(16, 4, 0.8, 2.0, cosine: true, generator);
        // Latents in the positive orthant, so a code pointing along -(1, 1, 1, 1) is nobody's nearest.
        var z_BDHW = randn(new long[] { 4, 4, 4, 4 }, generator: generator).abs_().add_(0.1);
        codebook.Quantize(z_BDHW, updateCodebook: true, generator); // data-driven start: every code on a latent
        const int dead = 3;
        using (no_grad())
        {
            // Point code 3 away from every latent and mark it unused.
            codebook.Embed[dead] = full(4, -0.5f);
            codebook.ClusterSize[dead] = 0;
        }
        Assert.DoesNotContain(dead, Codes(codebook, z_BDHW));
        var restarted = codebook.Quantize(z_BDHW, updateCodebook: true, generator).RestartedCodes;
        Assert.True(restarted >= 1);
        Assert.Contains(dead, Codes(codebook, z_BDHW));
    }

    [Fact]
    public void SimVqLearnedMapBringsCodesUnusedAtTheStartIntoUse()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(9);
        var codebook = new SimVqCodebook(32, 4, cosine: false, generator);
        // Latents far from the frozen codes (which sit around the origin): at the start a few outer codes take them all.
        var z_ND = randn(new long[] { 256, 4 }, generator: generator).mul_(0.5).add_(3.0);
        var unusedAtStart = Enumerable.Range(0, 32).Except(Nearest(codebook, z_ND)).ToArray();
        Assert.NotEmpty(unusedAtStart);
        using var optimizer = optim.Adam(codebook.parameters(), lr: 0.05);
        for (int step = 0; step < 100; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            var codes_KD = codebook.Codes();
            var q_ND = codes_KD.index_select(0, codebook.Nearest(z_ND, codes_KD));
            codebook.CodebookLoss(z_ND, q_ND).backward();
            optimizer.step();
        }
        // No restart exists: the shared linear map moved every code, and codes nobody picked came into use.
        var revived = unusedAtStart.Intersect(Nearest(codebook, z_ND)).ToArray();
        Assert.NotEmpty(revived);
        Assert.Equal(0, codebook.Update(z_ND, zeros(256, dtype: int64), generator));
    }

    private static int[] Nearest(Codebook codebook, Tensor z_ND)
    {
        using var _ = no_grad();
        return codebook.Nearest(z_ND, codebook.Codes()).data<long>().ToArray().Select(t => (int)t).Distinct().ToArray();
    }

    private static int[] Codes(Codebook codebook, Tensor z_BDHW)
    {
        using var _ = no_grad();
        return codebook.Quantize(z_BDHW, false, null).Indices.data<long>().ToArray().Select(t => (int)t).Distinct().ToArray();
    }

    internal static string WithoutKeys(string json, params string[] keys)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        foreach (var key in keys) Assert.True(node.Remove(key), $"config.json has no {key}");
        return node.ToJsonString();
    }

    /// <summary>Copies a checkpoint zip, replacing the text of entries for which <paramref name="edit"/> returns non-null.</summary>
    internal static MemoryStream Rewrite(MemoryStream source, Func<string, string, string?> edit)
    {
        source.Position = 0;
        var result = new MemoryStream();
        using (var input = new ZipArchive(source, ZipArchiveMode.Read, leaveOpen: true))
        using (var output = new ZipArchive(result, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var entry in input.Entries)
            {
                using var read = entry.Open();
                using var buffer = new MemoryStream();
                read.CopyTo(buffer);
                var bytes = buffer.ToArray();
                var replaced = edit(entry.FullName, Encoding.UTF8.GetString(bytes));
                using var write = output.CreateEntry(entry.FullName).Open();
                write.Write(replaced is null ? bytes : Encoding.UTF8.GetBytes(replaced));
            }
        }
        result.Position = 0;
        return result;
    }

    private sealed class SyncProgress(Action<TrainingProgress> onReport) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => onReport(value);
    }
}
