using System.Text.Json;
using SkiaSharp;
using Tessera.Cli;
using Tessera.Tests.Infra;

namespace Tessera.Tests.Workflow;

/// <summary>
/// A team's own colour folder, end to end through the CLI as a user would run it: `data import` (a colour class, a gray
/// class and a transparent one), then every stage kind with tiny step counts, then `tessera sample`. Two sizes: 32x32
/// (VQ at downsample 4, raster GPT, one alignment stage) and 64x64 (multi-scale VQ at the default downsample 8, VAR).
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class ColourPipelineTests : IDisposable
{
    readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Seeded noisy pictures per class: a reddish one, a gray one, and a transparent greenish one.</summary>
    void WriteFolder(int side)
    {
        var random = new Random(side);
        for (int i = 0; i < 24; i++)
        {
            byte Noise() => (byte)random.Next(0, 60);
            byte r1 = Noise(), g1 = Noise(), v = Noise(), a = Noise();
            TestImages.Write(_dir.Combine("images", "red", $"{i:D2}.png"), side, side,
                (x, y) => new SKColor((byte)(180 + r1 + (x % 8)), (byte)(20 + g1), (byte)(30 + (y % 16))));
            TestImages.Write(_dir.Combine("images", "gray", $"{i:D2}.png"), side, side,
                (x, y) => { byte l = (byte)(60 + v + ((x + y) % 32)); return new SKColor(l, l, l); });
            TestImages.Write(_dir.Combine("images", "clear", $"{i:D2}.png"), side, side,
                (x, y) => new SKColor(20, (byte)(150 + a), 40, (byte)((x + y) % 2 == 0 ? 255 : 90)));
        }
    }

    static string Spec(int side, bool multiScale) => $$"""
        experiment: colour{{side}}
        seed: 5
        device: cpu
        dataset:
          name: colour{{side}}
          source: store
        stages:
          - kind: tokenizer
            model: {{(multiScale ? "msvq" : "vq")}}
            steps: 8
            batch_size: 16
            log_every: 4
            warmup_steps: 2
            hidden_channels: 8
            latent_channels: 16
            codebook_size: 32
          - kind: tokenize
          - kind: generator
            model: {{(multiScale ? "var" : "gpt")}}
            steps: 4
            batch_size: 16
            log_every: 2
            warmup_steps: 1
            model_dim: 16
            layers: 1
            heads: 2
          - kind: classifier
            steps: 4
            batch_size: 16
            log_every: 2
            warmup_steps: 1
            channels: 4
            feature_dim: 8
          - kind: eval
            samples_per_class: 2
            cfg: 1.5
        {{(multiScale ? "" : """
          - kind: cca
            steps: 2
            batch_size: 4
            log_every: 1
            samples_per_class: 2
        """)}}
        """;

    [Theory]
    [InlineData(32, false)]
    [InlineData(64, true)]
    public async Task AColourFolderTrainsThroughEveryStageKindAndSamplesInColour(int side, bool multiScale)
    {
        WriteFolder(side);
        string runs = _dir.Combine("runs"), spec = _dir.Combine("spec.yaml");
        Assert.Equal(ExitCodes.Success, await TesseraApp.RunAsync(["data", "import", _dir.Combine("images"), "--name", $"colour{side}",
            "--runs", runs, "--shards", "1", "--heldout", "0.25"]));
        var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(runs, "datasets", $"colour{side}", "manifest.json"))).RootElement;
        Assert.Equal(3, manifest.GetProperty("channels").GetInt32()); // colour detected: the red class has colour
        Assert.Equal(side, manifest.GetProperty("height").GetInt32());

        await File.WriteAllTextAsync(spec, Spec(side, multiScale));
        Assert.Equal(ExitCodes.Success, await TesseraApp.RunAsync(["run", spec, "--runs", runs]));
        string run = Assert.Single(Directory.GetDirectories(runs, $"colour{side}-*"));
        var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json"))).RootElement;
        Assert.Equal("succeeded", summary.GetProperty("state").GetString());
        var tokenize = summary.GetProperty("stages").GetProperty("tokenize");
        // The grid comes from the data: 32 / 4 = 8x8 tokens; 64 / 8 = 8x8 finest, 1+4+9+16+36+64 over the derived scales.
        Assert.Equal(multiScale ? 130 : 64, tokenize.GetProperty("tokens_per_image").GetDouble());

        string grid = _dir.Combine("grid.png");
        Assert.Equal(ExitCodes.Success, await TesseraApp.RunAsync(["sample", Path.GetFileName(run), "--runs", runs, "--class", "0", "--n", "2", "--out", grid]));
        using var bitmap = SKBitmap.Decode(grid);
        Assert.Contains(Enumerable.Range(0, bitmap.Width).SelectMany(x => Enumerable.Range(0, bitmap.Height).Select(y => bitmap.GetPixel(x, y))),
            p => p.Red != p.Green || p.Green != p.Blue); // shown in colour, not reduced to gray
    }
}
