using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Infra.Data;
using Tessera.Infra.Storage;

namespace Tessera.Cli.Commands;

/// <summary>
/// `tessera data import`: an ImageFolder tree or MNIST IDX files into a sharded dataset in the artifact store.
/// Everything is validated before the first write, so bad input leaves the store as it was.
/// </summary>
public sealed class DataImportCommand : AsyncCommand<DataImportCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<path>")]
        [Description("ImageFolder: the root folder (one sub-folder per class). IDX: the images file.")]
        public string Path { get; set; } = "";

        [CommandOption("--name <NAME>")]
        [Description("Dataset name in the store (the spec's dataset.name).")]
        public string Name { get; set; } = "";

        [CommandOption("--format <FORMAT>")]
        [Description("imagefolder (PNG/JPEG) or idx (MNIST IDX files, optionally .gz).")]
        [DefaultValue("imagefolder")]
        public string Format { get; set; } = "imagefolder";

        [CommandOption("--labels <FILE>")]
        [Description("IDX only: the labels file.")]
        public string? Labels { get; set; }

        [CommandOption("--channels <N>")]
        [Description("ImageFolder only: 1 (grayscale, default) or 3 (RGB).")]
        [DefaultValue(1)]
        public int Channels { get; set; } = 1;

        [CommandOption("--heldout <FRACTION>")]
        [Description("Fraction of each class held out for evaluation (default 0.1).")]
        [DefaultValue(0.1)]
        public double HeldOut { get; set; } = 0.1;

        [CommandOption("--shards <N>")]
        [Description("Train shards to write (default 4).")]
        [DefaultValue(4)]
        public int Shards { get; set; } = 4;

        [CommandOption("--seed <SEED>")]
        [Description("Seed of the held-out choice (default 0).")]
        [DefaultValue(0UL)]
        public ulong Seed { get; set; }

        [CommandOption("--runs <DIR>")]
        [Description("Artifact store directory (default ./runs).")]
        [DefaultValue("runs")]
        public string Runs { get; set; } = "runs";

        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Name)) return ValidationResult.Error("--name is required");
            if (Format is not ("imagefolder" or "idx")) return ValidationResult.Error($"--format must be imagefolder or idx, got '{Format}'");
            if (Format == "idx" && Labels is null) return ValidationResult.Error("--format idx needs --labels <FILE>");
            if (Channels is not (1 or 3)) return ValidationResult.Error($"--channels must be 1 or 3, got {Channels}");
            return ValidationResult.Success();
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var store = new LocalArtifactStore(settings.Runs);
        var options = new ImportOptions { HeldOutFraction = settings.HeldOut, Seed = settings.Seed, TrainShards = settings.Shards };
        try
        {
            DatasetManifest manifest = await AnsiConsole.Status().StartAsync($"importing {settings.Path}…", _ =>
                settings.Format == "idx"
                    ? IdxImporter.ImportAsync(store, settings.Name, settings.Path, settings.Labels!, options, cancellationToken)
                    : ImageFolderImporter.ImportAsync(store, settings.Name, settings.Path, settings.Channels, options, cancellationToken));
            AnsiConsole.MarkupLineInterpolated(
                $"[green]imported[/] dataset [bold]{settings.Name}[/] into {store.Location}: {manifest.TrainCount} train / {manifest.HeldOutCount} held out, {manifest.ClassNames.Count} classes, {manifest.Channels}x{manifest.Height}x{manifest.Width}, {manifest.Train.Count} train shards");
            return ExitCodes.Success;
        }
        catch (Exception e) when (e is DataFormatException or ArgumentException or InvalidOperationException or IOException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]import failed[/] {e.Message}");
            return ExitCodes.InvalidInput;
        }
    }
}
