using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Grains;

namespace Tessera.Cli.Commands;

/// <summary>`tessera submit spec.yaml`: validate, send to the running silo, print the experiment id at once.</summary>
public sealed class SubmitCommand : AsyncCommand<SubmitCommand.Settings>
{
    public sealed class Settings : GatewaySettings
    {
        [CommandArgument(0, "<spec>")]
        [Description("Experiment spec (YAML).")]
        public string Spec { get; set; } = "";
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (!SpecFiles.TryLoad(settings.Spec, out var spec, out string yaml)) return ExitCodes.InvalidInput;
        Logging.Configure(settings.Runs, "submit");
        await using var connection = await ClusterConnection.TryConnectAsync(settings, cancellationToken);
        if (connection is null) return ExitCodes.Unavailable;
        string id = SpecFiles.NewExperimentId(spec);
        await connection.Client.GetGrain<IExperimentGrain>(id)
            .Submit(new ExperimentSubmission(yaml, settings.Spec, DateTimeOffset.UtcNow));
        Console.WriteLine(id);
        return ExitCodes.Success;
    }
}
