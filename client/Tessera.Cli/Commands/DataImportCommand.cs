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
        [Description("ImageFolder only: 1 (grayscale) or 3 (RGB). Default: 3 when any image has colour, 1 when all are gray.")]
        public int? Channels { get; set; }

        [CommandOption("--size <S>")]
        [Description("ImageFolder only: resize each image's shorter side to S and centre-crop it to SxS. Without it, images must be square and of one size.")]
        public int? Size { get; set; }

        [CommandOption("--background <COLOR>")]
        [Description("ImageFolder only: white (default) or black, what transparent pixels are composited on.")]
        [DefaultValue("white")]
        public string Background { get; set; } = "white";

        [CommandOption("--strict")]
        [Description("ImageFolder only: fail on an image that cannot be decoded instead of skipping it.")]
        public bool Strict { get; set; }

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
            if (Format == "idx" && (Channels is not null || Size is not null || Strict))
                return ValidationResult.Error("--channels, --size and --strict apply to --format imagefolder only");
            if (Channels is not (null or 1 or 3)) return ValidationResult.Error($"--channels must be 1 or 3, got {Channels}");
            if (Size is < 1 or > ImageFolderOptions.MaxSize) return ValidationResult.Error($"--size must be between 1 and {ImageFolderOptions.MaxSize}, got {Size}");
            if (Background is not ("white" or "black")) return ValidationResult.Error($"--background must be white or black, got '{Background}'");
            return ValidationResult.Success();
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var store = new LocalArtifactStore(settings.Runs);
        var options = new ImportOptions { HeldOutFraction = settings.HeldOut, Seed = settings.Seed, TrainShards = settings.Shards };
        var folderOptions = new ImageFolderOptions
        {
            Channels = settings.Channels,
            Size = settings.Size,
            Background = settings.Background == "black" ? ImageBackground.Black : ImageBackground.White,
            Strict = settings.Strict,
        };
        try
        {
            ImageFolderImport? folder = null;
            DatasetManifest manifest = await AnsiConsole.Status().StartAsync($"importing {settings.Path}…", async _ =>
            {
                if (settings.Format == "idx")
                    return await IdxImporter.ImportAsync(store, settings.Name, settings.Path, settings.Labels!, options, cancellationToken);
                folder = await ImageFolderImporter.ImportAsync(store, settings.Name, settings.Path, folderOptions, options, cancellationToken);
                return folder.Manifest;
            });
            AnsiConsole.MarkupLineInterpolated(
                $"[green]imported[/] dataset [bold]{settings.Name}[/] into {store.Location}: {manifest.TrainCount} train / {manifest.HeldOutCount} held out, {manifest.ClassNames.Count} classes, {manifest.Channels}x{manifest.Height}x{manifest.Width}, {manifest.Train.Count} train shards");
            if (folder is not null)
                Report(folder, settings.Channels is null);
            return ExitCodes.Success;
        }
        catch (Exception e) when (e is DataFormatException or ArgumentException or InvalidOperationException or IOException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]import failed[/] {e.Message}");
            return ExitCodes.InvalidInput;
        }
    }

    /// <summary>How many files a report lists by name before it only counts the rest.</summary>
    const int ListedSkips = 10;

    /// <summary>What the import decided on its own: the channel count, the class sizes, and the files it left out.</summary>
    static void Report(ImageFolderImport import, bool channelsDetected)
    {
        var manifest = import.Manifest;
        if (channelsDetected)
            AnsiConsole.WriteLine(manifest.Channels == 3
                ? "channels: 3, detected (some images have colour; --channels 1 makes them gray)"
                : "channels: 1, detected (every image is gray; --channels 3 keeps RGB)");
        AnsiConsole.WriteLine("images per class: " + string.Join(", ", manifest.ClassNames.Select((name, i) => $"{name} {import.CountPerClass[i]}")));
        if (import.Skipped.Count == 0)
            return;
        AnsiConsole.MarkupLineInterpolated($"[yellow]skipped {import.Skipped.Count} image(s) that could not be decoded[/] (--strict fails on them instead):");
        foreach (var skip in import.Skipped.Take(ListedSkips))
            AnsiConsole.WriteLine($"  {skip.File}: {skip.Problem}");
        if (import.Skipped.Count > ListedSkips)
            AnsiConsole.WriteLine($"  … and {import.Skipped.Count - ListedSkips} more");
    }
}
