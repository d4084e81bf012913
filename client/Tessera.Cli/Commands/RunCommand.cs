using System.ComponentModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Cli.Output;
using Tessera.Grains;
using Tessera.Silo;

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
        string logFile = Logging.Configure(settings.Runs, "run");
        using var interrupt = Interrupt.OnCtrlC(cancellationToken);

        using IHost host = TesseraWebHost.Build(new TesseraSiloOptions
        {
            ArtifactRoot = settings.Runs, SiloPort = 0, GatewayPort = 0, HttpPortFallback = true,
        });
        await host.StartAsync(interrupt.Token);
        AnsiConsole.MarkupLineInterpolated($"dashboard: [link]{TesseraWebHost.DashboardUrl(host)}[/]");
        try
        {
            var client = host.Services.GetRequiredService<IClusterClient>();
            string id = SpecFiles.NewExperimentId(spec);
            var experiment = client.GetGrain<IExperimentGrain>(id);
            await experiment.Submit(new ExperimentSubmission(yaml, settings.Spec, DateTimeOffset.UtcNow));
            AnsiConsole.MarkupLineInterpolated($"experiment [bold]{id}[/] ({spec.Stages.Count} stage(s), embedded silo; log {logFile})");

            ExperimentStatus status;
            try { status = await ProgressView.FollowAsync(experiment, interrupt.Token); }
            catch (OperationCanceledException)
            {
                AnsiConsole.MarkupLine("[yellow]interrupted: cancelling the experiment[/]");
                await experiment.Cancel();
                return ExitCodes.Interrupted;
            }
            StatusPrinter.Print(status, settings.Runs);
            return status.State == ExperimentState.Succeeded ? ExitCodes.Success : ExitCodes.Failed;
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
            await Log.CloseAndFlushAsync();
        }
    }
}
