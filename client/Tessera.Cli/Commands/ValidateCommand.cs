using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Cli.Output;
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

        [CommandOption("--json")] [Description(JsonOutput.OptionDescription)]
        public bool Json { get; set; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (settings.Json) return WriteJson(settings.Spec);
        if (!SpecFiles.TryLoad(settings.Spec, out var spec, out _)) return ExitCodes.InvalidInput;
        AnsiConsole.MarkupLineInterpolated($"[green]valid[/] {settings.Spec}; resolved spec:");
        AnsiConsole.WriteLine(SpecWriter.ToYaml(spec));
        return ExitCodes.Success;
    }

    /// <summary>An invalid spec is an answer too: its document carries the error, with the same exit code 2.</summary>
    static int WriteJson(string path)
    {
        bool valid = SpecFiles.TryLoad(path, out var spec, out _, out string error);
        JsonOutput.Write(valid
            ? new ValidationJson(path, true, spec.Experiment, spec.Stages.Count, SpecWriter.ToYaml(spec), null)
            : new ValidationJson(path, false, null, null, null, error));
        return valid ? ExitCodes.Success : ExitCodes.InvalidInput;
    }
}
