using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Grains;

namespace Tessera.Cli.Commands;

/// <summary>
/// `tessera run spec.yaml`: the embedded mode. Starts a silo in this process, submits the experiment to it
/// exactly as `tessera submit` would, follows it to the end and prints the summary.
/// </summary>
public sealed class RunCommand : AsyncCommand<RunCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<spec>")]
        [Description("Experiment spec (YAML).")]
        public string Spec { get; set; } = "";

        [CommandOption("--runs <DIR>")]
        [Description("Artifact store directory; results land in <DIR>/<experiment-id>/ (default ./runs).")]
        [DefaultValue("runs")]
        public string Runs { get; set; } = "runs";
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (!SpecFiles.TryLoad(settings.Spec, out var spec, out string yaml)) return ExitCodes.InvalidInput;
        return await EmbeddedRun.RunAsync(settings.Runs, "run", async client =>
        {
            string id = SpecFiles.NewExperimentId(spec);
            var experiment = client.GetGrain<IExperimentGrain>(id);
            await experiment.Submit(new ExperimentSubmission(yaml, settings.Spec, DateTimeOffset.UtcNow));
            AnsiConsole.MarkupLineInterpolated($"experiment [bold]{id}[/] ({spec.Stages.Count} stage(s), embedded silo)");
            return experiment;
        }, cancellationToken);
    }
}
