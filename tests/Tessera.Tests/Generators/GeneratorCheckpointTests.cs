using Tessera.Trainers;
using Tessera.Trainers.Generators;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Tests.Generators;

[Collection(TorchCollection.Name)]
public class GeneratorCheckpointTests
{
    public GeneratorCheckpointTests() => TorchRuntime.Initialize(2);

    [Fact]
    public void RoundTripRestoresStepSpecWeightsAndResumesIdentically()
    {
        var config = GptGeneratorTests.Tiny with { Steps = 20, ClassDropout = 0.3, Dropout = 0.0 };
        var batch = GptGeneratorTests.OneBatch();
        using var original = new GeneratorTrainer(config with { Steps = 10 }, CPU, seed: 2);
        original.Train(new GptGeneratorTests.RepeatSource(batch), null, CancellationToken.None);
        using var buffer = new MemoryStream();
        original.SaveCheckpoint(buffer, "stage: generator\n");
        buffer.Position = 0;
        using var restored = GeneratorTrainer.LoadCheckpoint(buffer, CPU);

        Assert.Equal(10, restored.Step);
        Assert.Equal("stage: generator\n", restored.ResolvedSpec);
        Assert.Equal(original.LastLoss, restored.LastLoss);
        using (var g1 = new Generator(1))
        using (var g2 = new Generator(1))
            Assert.True(GptGeneratorTests.Same(original.Model.Generate(new[] { 0, 1 }, new SamplingOptions(), g1),
                restored.Model.Generate(new[] { 0, 1 }, new SamplingOptions(), g2)));

        // Optimizer moments and the class-dropout generator came back too: ten more steps agree.
        var a = TrainMore(original, config, batch);
        var b = TrainMore(restored, config, batch);
        Assert.Equal(a, b, 5);
    }

    private static double TrainMore(GeneratorTrainer trainer, GeneratorConfig config, Tessera.Infra.Data.TokenBatch batch)
    {
        // Config is init-only: continue through a checkpoint written with the longer schedule.
        using var buffer = new MemoryStream();
        trainer.SaveCheckpoint(buffer, "x");
        buffer.Position = 0;
        using var zipCopy = Rewrite(buffer, config);
        using var longer = GeneratorTrainer.LoadCheckpoint(zipCopy, CPU);
        return longer.Train(new GptGeneratorTests.RepeatSource(batch), null, CancellationToken.None);
    }

    /// <summary>The same checkpoint with config.json replaced.</summary>
    private static MemoryStream Rewrite(Stream source, GeneratorConfig config)
    {
        var output = new MemoryStream();
        using (var inZip = new System.IO.Compression.ZipArchive(source, System.IO.Compression.ZipArchiveMode.Read, leaveOpen: true))
        using (var outZip = new System.IO.Compression.ZipArchive(output, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var entry in inZip.Entries)
            {
                using var target = outZip.CreateEntry(entry.FullName).Open();
                if (entry.FullName == "config.json")
                    System.Text.Json.JsonSerializer.Serialize(target, config, new System.Text.Json.JsonSerializerOptions
                    { PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower });
                else
                    entry.Open().CopyTo(target);
            }
        }
        output.Position = 0;
        return output;
    }
}
