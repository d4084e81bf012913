using System.ComponentModel;
using Microsoft.Extensions.Hosting;
using Serilog;
using Serilog.Events;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Silo;
using Tessera.Silo.Security;

namespace Tessera.Cli.Commands;

/// <summary>`tessera silo`: a standalone silo with localhost clustering, until Ctrl+C (graceful shutdown).</summary>
public sealed class SiloCommand : AsyncCommand<SiloCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--runs <DIR>")]
        [Description("Artifact store directory (default ./runs).")]
        [DefaultValue("runs")]
        public string Runs { get; set; } = "runs";

        [CommandOption("--port <PORT>")]
        [Description("Silo-to-silo port (default 11111).")]
        [DefaultValue(11111)]
        public int Port { get; set; } = 11111;

        [CommandOption("--gateway <PORT>")]
        [Description("Gateway port clients connect to (default 30000).")]
        [DefaultValue(30000)]
        public int Gateway { get; set; } = 30000;

        [CommandOption("--http <PORT>")]
        [Description("Port of the HTTP API and dashboard on 127.0.0.1 (default 5080).")]
        [DefaultValue(TesseraSiloOptions.DefaultHttpPort)]
        public int Http { get; set; } = TesseraSiloOptions.DefaultHttpPort;

        [CommandOption("--token <TOKENS>")]
        [Description("Require this cluster token (or two, comma-separated, while rotating) on the gateway and the HTTP API (default: TESSERA_TOKEN; none: no authentication).")]
        public string? Token { get; set; }

        [CommandOption("--tls-cert <PFX>")]
        [Description("Serve the HTTP API over HTTPS and the gateway and silo links over TLS with this PKCS#12 certificate (password: TESSERA_TLS_PASSWORD).")]
        public string? TlsCertificate { get; set; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        string logFile = Logging.Configure(settings.Runs, "silo", consoleLevel: LogEventLevel.Information);
        using var interrupt = Interrupt.OnCtrlC(cancellationToken);
        using IHost host = TesseraWebHost.Build(new TesseraSiloOptions
        {
            ArtifactRoot = settings.Runs, SiloPort = settings.Port, GatewayPort = settings.Gateway, HttpPort = settings.Http,
            Tokens = ClusterTokens.FromOptionOrEnvironment(settings.Token),
            TlsCertificatePath = settings.TlsCertificate, TlsCertificatePassword = Environment.GetEnvironmentVariable("TESSERA_TLS_PASSWORD"),
        });
        try
        {
            await host.StartAsync(interrupt.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]silo failed to start[/]: {e.Message}");
            return ExitCodes.Failed;
        }
        AnsiConsole.MarkupLineInterpolated(
            $"silo up: gateway localhost:{settings.Gateway}, dashboard {TesseraWebHost.DashboardUrl(host)}, artifacts in {Path.GetFullPath(settings.Runs)}, log {logFile}. Ctrl+C stops it.");
        try { await Task.Delay(Timeout.Infinite, interrupt.Token); }
        catch (OperationCanceledException) { }
        AnsiConsole.MarkupLine("stopping the silo…");
        await host.StopAsync(CancellationToken.None);
        await Log.CloseAndFlushAsync();
        return ExitCodes.Success;
    }
}
