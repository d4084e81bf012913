using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Infra.Specs;

namespace Tessera.Cli.Commands;

/// <summary>`tessera validate spec.yaml`: parse and check a spec, print the resolved form.</summary>
public sealed class ValidateCommand : Command<ValidateCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<spec>")]
        [Description("Experiment spec (YAML).")]
        public string Spec { get; set; } = "";
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (!SpecFiles.TryLoad(settings.Spec, out var spec, out _)) return ExitCodes.InvalidInput;
        AnsiConsole.MarkupLineInterpolated($"[green]valid[/] {settings.Spec}; resolved spec:");
        AnsiConsole.WriteLine(SpecWriter.ToYaml(spec));
        return ExitCodes.Success;
    }
}
