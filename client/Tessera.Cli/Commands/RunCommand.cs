using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Grains;
using Tessera.Infra.Data;
using Tessera.Infra.Specs;
using Tessera.Infra.Storage;

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
        if (spec.Dataset.IsBuiltin && spec.Dataset.Name == IconsDataset.Name && !await PrepareIconsAsync(spec.Dataset, settings.Runs, cancellationToken))
            return ExitCodes.Failed;
        return await EmbeddedRun.RunAsync(settings.Runs, "run", async client =>
        {
            string id = SpecFiles.NewExperimentId(spec);
            var experiment = client.GetGrain<IExperimentGrain>(id);
            await experiment.Submit(new ExperimentSubmission(yaml, settings.Spec, DateTimeOffset.UtcNow));
            AnsiConsole.MarkupLineInterpolated($"experiment [bold]{id}[/] ({spec.Stages.Count} stage(s), embedded silo)");
            return experiment;
        }, cancellationToken);
    }

    /// <summary>
    /// The icons install from Debian packages on first use, which takes a while; doing it here, before the live
    /// progress view owns the terminal, lets the user read what it downloads. The silo then finds the dataset there.
    /// </summary>
    static async Task<bool> PrepareIconsAsync(DatasetSpec dataset, string runs, CancellationToken cancellationToken)
    {
        try
        {
            await DatasetStore.EnsureBuiltinAsync(new LocalArtifactStore(runs), dataset.Name, dataset.Shards, cancellationToken, AnsiConsole.WriteLine);
            return true;
        }
        catch (Exception e) when (e is DataFormatException or IOException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]dataset {dataset.Name} could not be prepared:[/] {e.Message}");
            return false;
        }
    }
}
