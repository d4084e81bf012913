using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Stages;
using Tessera.Infra.Data;
using Tessera.Infra.Images;
using Tessera.Infra.Storage;
using Tessera.Trainers;
using Tessera.Trainers.Generators;
using Tessera.Trainers.Inference;
using Tessera.Trainers.Tokenizers;

namespace Tessera.Cli.Commands;

/// <summary>`tessera sample &lt;experiment&gt;`: images from a trained generator, as one grid or one PNG per sample.</summary>
public sealed class SampleCommand : Command<SampleCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<experiment>")] [Description("Experiment id (a folder under --runs).")]
        public string Experiment { get; set; } = "";

        [CommandOption("--class <CLASS>")] [Description("Class to sample; repeat for several (default: every class).")]
        public int[]? Classes { get; set; }

        [CommandOption("-n|--count <N>")] [Description("Samples per class (default 8); `--n` works too.")] [DefaultValue(8)]
        public int N { get; set; } = 8;

        [CommandOption("--cfg <SCALE>")] [Description("Classifier-free guidance scale; omit for guidance-free sampling.")]
        public double? Cfg { get; set; }

        [CommandOption("--temperature <T>")] [DefaultValue(1.0)] public double Temperature { get; set; } = 1.0;
        [CommandOption("--top-k <K>")] [Description("0 = all tokens.")] [DefaultValue(0)] public int TopK { get; set; }
        [CommandOption("--top-p <P>")] [DefaultValue(1.0)] public double TopP { get; set; } = 1.0;
        [CommandOption("--seed <SEED>")] [DefaultValue(0L)] public long Seed { get; set; }
        [CommandOption("--stage <NAME>")] [Description("Generator stage name (default generator).")] [DefaultValue("generator")]
        public string Stage { get; set; } = "generator";

        [CommandOption("--out <PATH>")] [Description("grid: a .png file; png-dir: a folder.")] [DefaultValue("samples.png")]
        public string Out { get; set; } = "samples.png";

        [CommandOption("--format <FORMAT>")] [Description("grid (default) or png-dir (one PNG per sample, class in the name).")] [DefaultValue("grid")]
        public string Format { get; set; } = "grid";

        [CommandOption("--device <DEVICE>")] [DefaultValue("auto")] public string Device { get; set; } = "auto";
        [CommandOption("--runs <DIR>")] [DefaultValue("runs")] public string Runs { get; set; } = "runs";

        public override ValidationResult Validate() =>
            Format is not ("grid" or "png-dir") ? ValidationResult.Error($"--format must be grid or png-dir, got '{Format}'")
            : N < 1 ? ValidationResult.Error("--n must be at least 1")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        TorchRuntime.Initialize(Environment.ProcessorCount);
        var options = new SamplingOptions(settings.Temperature, settings.TopK, settings.TopP, settings.Cfg);
        var store = new LocalArtifactStore(settings.Runs);
        int[] classes = settings.Classes is { Length: > 0 } chosen ? chosen : Enumerable.Range(0, 10).ToArray();
        SampledImages samples;
        try
        {
            samples = AnsiConsole.Status().Start($"sampling {classes.Length * settings.N} images…", _ =>
                RunSampler.Sample(store, settings.Experiment, settings.Stage, classes, settings.N, options, settings.Seed, settings.Device, cancellationToken));
        }
        catch (Exception e) when (e is InvalidOperationException or InvalidDataException or ArgumentException or IOException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]cannot sample[/] {e.Message}");
            return ExitCodes.InvalidInput;
        }
        if (settings.Format == "grid")
        {
            File.WriteAllBytes(settings.Out, ImageGrid.RenderPng(ImageSampler.RowsPerClass(samples.Images, settings.N, settings.N)));
        }
        else
        {
            Directory.CreateDirectory(settings.Out);
            for (int i = 0; i < samples.Images.Count; i++)
                File.WriteAllBytes(Path.Combine(settings.Out, $"class{samples.Images.Labels[i]}-{i % settings.N:D4}.png"),
                    ImageGrid.RenderPng([ImageTensors.Slice(samples.Images, i, 1)], scale: 1, gap: 0));
        }
        AnsiConsole.MarkupLineInterpolated($"wrote {samples.Images.Count} samples to [bold]{settings.Out}[/] ({samples.SamplesPerSecond:F1} samples/s)");
        return ExitCodes.Success;
    }
}
