using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Cli.Output;

namespace Tessera.Cli.Commands;

/// <summary>`tessera version` (and `tessera --version`): see <see cref="VersionReport"/>.</summary>
public sealed class VersionCommand : Command<VersionCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--json")] [Description(JsonOutput.OptionDescription)]
        public bool Json { get; set; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var report = VersionReport.Collect();
        if (settings.Json)
        {
            JsonOutput.Write(report);
            return ExitCodes.Success;
        }
        var grid = new Grid().AddColumns(2);
        grid.AddRow("tessera", report.Tessera);
        grid.AddRow("commit", report.Commit ?? "unknown (not built from a git checkout)");
        grid.AddRow(".NET", report.Dotnet);
        grid.AddRow("Orleans", report.Orleans);
        grid.AddRow("TorchSharp", report.Torchsharp);
        grid.AddRow("libtorch", $"{report.Libtorch} ({report.TorchBackend} build)");
        grid.AddRow("GPU", Markup.Escape(report.GpuVisible switch
        {
            true => $"{report.GpuCount} visible to libtorch",
            false => report.TorchBackend == "cuda" ? "none visible to libtorch" : "none (a cpu build of libtorch uses none)",
            null => $"unknown: libtorch did not load ({report.GpuProblem})",
        }));
        AnsiConsole.Write(grid);
        return ExitCodes.Success;
    }
}
