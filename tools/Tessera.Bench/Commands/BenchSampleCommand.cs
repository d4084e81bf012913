using System.ComponentModel;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Infra.Specs;
using Tessera.Trainers;
using Tessera.Bench.Workloads;
using Tessera.Trainers.Generators;
using Tessera.Trainers.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

using Tessera.Cli;
using Tessera.Cli.Commands;

namespace Tessera.Bench.Commands;

/// <summary>
/// `tessera-bench sample`: images per second of the raster GPT (KV cache on and off) and the next-scale VAR generator,
/// guided and guidance-free, at the sizes of a spec's generator stage (random weights: speed does not depend on them).
/// </summary>
public sealed class BenchSampleCommand : Command<BenchSampleCommand.Settings>
{
    public sealed class Settings : TorchBenchSettings
    {
        [CommandOption("--spec <SPEC>")]
        [Description("Where the generator sizes come from: spec.yaml[[:stage]], a generator stage (default examples/quickstart.yaml).")]
        [DefaultValue("examples/quickstart.yaml")]
        public string Spec { get; set; } = "examples/quickstart.yaml";

        [CommandOption("--batches <LIST>")]
        [Description("Images per batch, comma separated (default 1,64).")]
        [DefaultValue("1,64")]
        public string Batches { get; set; } = "1,64";

        [CommandOption("--cfg <SCALE>")]
        [Description("Guidance scale of the guided runs, > 1 (default 2); guided runs double the forward batch.")]
        [DefaultValue(2.0)]
        public double Cfg { get; set; } = 2.0;

        [CommandOption("--repeats <N>")]
        [Description("Timed batches per case, after a second of warm-up batches (default 5).")]
        [DefaultValue(5)]
        public int Repeats { get; set; } = 5;

        [CommandOption("--threads <N>")]
        [Description("libtorch threads (default: the machine's cores).")]
        public int? Threads { get; set; }

        public override ValidationResult Validate()
        {
            try
            {
                if (BatchSizes().Any(b => b < 1)) return ValidationResult.Error("--batches must be >= 1");
            }
            catch (FormatException e) { return ValidationResult.Error(e.Message); }
            return !(Cfg > 1) ? ValidationResult.Error("--cfg must be > 1 (guided sampling)")
                : Repeats < 1 ? ValidationResult.Error("--repeats must be >= 1")
                : Threads is < 1 ? ValidationResult.Error("--threads must be >= 1")
                : ValidationResult.Success();
        }

        public List<int> BatchSizes() => BenchEnvironment.ParseList(Batches, s => int.Parse(s, CultureInfo.InvariantCulture));
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        string loadBefore = BenchEnvironment.LoadAverage();
        int threads = TorchRuntime.Initialize(settings.Threads ?? Environment.ProcessorCount);
        GeneratorConfig gptConfig;
        VqTokenizerConfig tokenizerConfig;
        Device device;
        try
        {
            (gptConfig, tokenizerConfig) = BenchSpecs.Generator(settings.Spec);
            device = TorchRuntime.ResolveDevice(settings.Device);
        }
        catch (Exception e) when (e is ArgumentException or SpecException or InvalidOperationException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return ExitCodes.InvalidInput;
        }
        // VAR at the same sizes, over the multi-scale tokenizer's default schedule with the spec tokenizer's codebook.
        var msvqConfig = tokenizerConfig with { Kind = VqTokenizerConfig.KindMsVq, ScaleSchedule = new VqTokenizerConfig().ScaleSchedule };
        var varConfig = new GeneratorConfig
        {
            Model = GeneratorConfig.ModelVar, SequenceLength = msvqConfig.ScaleList().Sum(s => s * s),
            Scales = msvqConfig.ScaleList().ToArray(), CodebookSize = msvqConfig.CodebookSize, InputDim = msvqConfig.CodeDim, Classes = gptConfig.Classes,
            ModelDim = gptConfig.ModelDim, Layers = gptConfig.Layers, Heads = gptConfig.Heads, MlpRatio = gptConfig.MlpRatio, Dropout = gptConfig.Dropout,
        };

        using var g = new Generator((ulong)settings.Seed);
        using var gpt = new GptGenerator(gptConfig, g);
        using var var = new VarGenerator(varConfig, g);
        using var tokenizer = new MsVqTokenizer(msvqConfig, g);
        gpt.to(device);
        var.to(device);
        tokenizer.to(device);
        tokenizer.eval();

        var results = new List<SampleResult>();
        foreach (int batch in settings.BatchSizes())
            foreach (double? cfg in new double?[] { null, settings.Cfg })
            {
                cancellationToken.ThrowIfCancellationRequested();
                AnsiConsole.MarkupLineInterpolated($"[grey]batch {batch}, {(cfg is null ? "guidance-free" : $"cfg {cfg}")}...[/]");
                results.Add(SampleBenchmark.Gpt(gpt, kvCache: true, cfg, batch, settings.Repeats, settings.Seed));
                results.Add(SampleBenchmark.Gpt(gpt, kvCache: false, cfg, batch, settings.Repeats, settings.Seed));
                results.Add(SampleBenchmark.Var(var, tokenizer, kvCache: true, cfg, batch, settings.Repeats, settings.Seed));
                results.Add(SampleBenchmark.Var(var, tokenizer, kvCache: false, cfg, batch, settings.Repeats, settings.Seed));
            }

        Print(results, gptConfig, varConfig, threads);
        AnsiConsole.MarkupLineInterpolated($"load average before: {loadBefore}, after: {BenchEnvironment.LoadAverage()}");
        if (settings.Json is not null)
        {
            var benchSettings = new
            {
                spec = settings.Spec, batches = settings.BatchSizes(), cfg = settings.Cfg, repeats = settings.Repeats, threads, device = device.ToString(),
                seed = settings.Seed, gpt = gptConfig, var = varConfig, tokenizer = msvqConfig,
                sampling = "temperature 1, no top-k/top-p; token maps only (decoding excluded); warm-up batches for a second per case",
            };
            BenchEnvironment.WriteReportAsync(settings.Json, "sample", BenchEnvironment.Machine(loadBefore, BenchEnvironment.TorchLibraries()),
                benchSettings, new { results, ratios = Ratios(results) }, cancellationToken).GetAwaiter().GetResult();
        }
        return ExitCodes.Success;
    }

    /// <summary>Per (batch, cfg), in images/s: each generator's KV cache over its uncached path, and cached VAR over cached GPT.</summary>
    private static List<SampleRatio> Ratios(IReadOnlyList<SampleResult> results) =>
        results.GroupBy(r => (r.Batch, r.Cfg)).Select(group =>
        {
            double Rate(string generator, string mode) => group.Single(r => r.Generator == generator && r.Mode == mode).ImagesPerSecond;
            return new SampleRatio(group.Key.Batch, group.Key.Cfg, Rate("gpt", "kv-cache") / Rate("gpt", "uncached"),
                Rate("var", "kv-cache") / Rate("var", "uncached"), Rate("var", "kv-cache") / Rate("gpt", "kv-cache"));
        }).ToList();

    private sealed record SampleRatio(int Batch, double? Cfg, double KvCacheOverUncached, double VarKvCacheOverUncached, double VarOverCachedGpt);

    private static void Print(IReadOnlyList<SampleResult> results, GeneratorConfig gpt, GeneratorConfig var, int threads)
    {
        var table = new Table().AddColumns("generator", "mode", "guidance", "batch", "passes", "tensors", "batch ms", "cpu ms", "images/s");
        foreach (var r in results)
            table.AddRow(r.Generator, r.Mode, r.Cfg is null ? "free" : $"cfg {r.Cfg}", $"{r.Batch}", $"{r.ForwardPasses}", $"{r.TensorsPerBatch}",
                $"{r.MedianSeconds * 1e3:0.0}", $"{r.CpuSeconds * 1e3:0.0}", $"{r.ImagesPerSecond:0.0}");
        AnsiConsole.Write(table);
        var ratios = new Table().AddColumns("batch", "guidance", "GPT KV cache / uncached", "VAR KV cache / uncached", "cached VAR / cached GPT", "VAR time in tokenizer inputs");
        foreach (var r in Ratios(results))
        {
            double share = results.Single(x => x.Batch == r.Batch && x.Cfg == r.Cfg && x.Generator == "var" && x.Mode == "kv-cache").InputsShare ?? 0;
            ratios.AddRow($"{r.Batch}", r.Cfg is null ? "free" : $"cfg {r.Cfg}", $"{r.KvCacheOverUncached:0.00}x", $"{r.VarKvCacheOverUncached:0.00}x", $"{r.VarOverCachedGpt:0.00}x", $"{share:P0}");
        }
        AnsiConsole.Write(ratios);
        AnsiConsole.MarkupLine($"[grey]GPT: {gpt.SequenceLength} tokens, width {gpt.ModelDim}, {gpt.Layers} layers; VAR: scales {string.Join(",", var.Scales)} " +
            $"({var.SequenceLength} tokens), same width and depth; random weights; {threads} libtorch thread(s); median wall and process CPU time per batch; tensors: handles created per batch[/]");
    }
}
