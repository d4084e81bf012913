using System.ComponentModel;
using System.Net;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Cli.Output;
using Tessera.Grains;
using Tessera.Silo;
using Tessera.Silo.Security;

namespace Tessera.Cli.Commands;

/// <summary>`tessera logs &lt;id&gt; [--follow]`: an experiment's log events, from the silo's HTTP API.</summary>
public sealed class LogsCommand : AsyncCommand<LogsCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<id>")]
        [Description("Experiment id, as printed by `tessera submit` or `tessera run`.")]
        public string Id { get; set; } = "";

        [CommandOption("-f|--follow")]
        [Description("Keep printing new events until the experiment ends; then exit 0 if it succeeded, 1 if not.")]
        public bool Follow { get; set; }

        [CommandOption("--http <PORT>")]
        [Description("HTTP port of the silo's API on 127.0.0.1 (default 5080, as `tessera silo` uses; `tessera run` prints its own).")]
        [DefaultValue(TesseraSiloOptions.DefaultHttpPort)]
        public int Http { get; set; } = TesseraSiloOptions.DefaultHttpPort;

        [CommandOption("--token <TOKEN>")]
        [Description("Cluster token of a silo that requires one (default: the TESSERA_TOKEN environment variable).")]
        public string? Token { get; set; }
    }

    static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var interrupt = Interrupt.OnCtrlC(cancellationToken);
        using var api = SiloApi.OnPort(settings.Http, ClusterTokens.FromOptionOrEnvironment(settings.Token).Primary);
        try
        {
            var state = await LogFollower.RunAsync(api, settings.Id, settings.Follow, Console.Out, PollInterval, interrupt.Token);
            return !settings.Follow || state == ExperimentState.Succeeded ? ExitCodes.Success : ExitCodes.Failed;
        }
        catch (OperationCanceledException) when (interrupt.Token.IsCancellationRequested)
        {
            return ExitCodes.Interrupted;
        }
        catch (SiloApiException e) when (e.Status == HttpStatusCode.Unauthorized)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]{e.Message}[/]");
            return ExitCodes.InvalidInput;
        }
        catch (SiloApiException e) when (e.Status == HttpStatusCode.NotFound)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]{e.Message}[/]");
            return ExitCodes.InvalidInput;
        }
        catch (HttpRequestException e)
        {
            AnsiConsole.MarkupLineInterpolated(
                $"[red]no Tessera silo answering[/] on {api.BaseAddress} ({e.Message}). Start one with `tessera silo`, or pass --http PORT.");
            return ExitCodes.Unavailable;
        }
    }
}
