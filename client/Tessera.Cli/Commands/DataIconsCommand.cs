using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Infra.Data;

namespace Tessera.Cli.Commands;

/// <summary>
/// `tessera data icons &lt;folder&gt;`: the builtin colour dataset as a plain ImageFolder tree, for looking at it,
/// for other tools, or to import with other options (e.g. `tessera data import &lt;folder&gt; --name icons64 --size 64`).
/// </summary>
public sealed class DataIconsCommand : AsyncCommand<DataIconsCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<folder>")]
        [Description("New or empty folder to write <class>/<theme>-<icon>.png into.")]
        public string Folder { get; set; } = "";

        [CommandOption("--cache <DIR>")]
        [Description("Where the Debian packages are unpacked (default $TESSERA_CACHE/icons, else ~/.cache/tessera/icons).")]
        public string? Cache { get; set; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        try
        {
            var classes = await IconsDataset.InstallAsync(settings.Cache ?? IconsDataset.DefaultCache(), AnsiConsole.WriteLine, cancellationToken);
            IconsDataset.Materialise(classes, settings.Folder);
            AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {classes.Sum(c => c.Files.Count)} icons in {classes.Count} class folders under {settings.Folder}");
            return ExitCodes.Success;
        }
        catch (Exception e) when (e is DataFormatException or IOException or UnauthorizedAccessException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]icons failed[/] {e.Message}");
            return ExitCodes.Failed;
        }
    }
}
