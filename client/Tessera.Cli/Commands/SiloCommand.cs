using System.ComponentModel;
using Microsoft.Extensions.Hosting;
using Serilog;
using Serilog.Events;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Silo;
using Tessera.Silo.Security;

namespace Tessera.Cli.Commands;

/// <summary>
/// `tessera silo`: a standalone silo until Ctrl+C (graceful shutdown). Alone with localhost clustering by default;
/// with a Redis connection string it joins that cluster (Redis membership and grain state, artifacts in blob
/// storage when a blob connection string is given too).
/// </summary>
public sealed class SiloCommand : AsyncCommand<SiloCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--runs <DIR>")]
        [Description("Artifact store directory without --blob, and this silo's log files (default ./runs).")]
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

        [CommandOption("--collective <PORT>")]
        [Description("Port of the gRPC data plane (default: a free port).")]
        [DefaultValue(0)]
        public int Collective { get; set; }

        [CommandOption("--redis <CONNECTION>")]
        [Description("Join the cluster kept in this Redis (StackExchange.Redis connection string; env TESSERA_REDIS).")]
        public string? Redis { get; set; }

        [CommandOption("--blob <CONNECTION>")]
        [Description("Keep artifacts in Azure Blob Storage / Azurite (connection string; env TESSERA_BLOB).")]
        public string? Blob { get; set; }

        [CommandOption("--slots <N>")]
        [Description("Trainer ranks this silo runs at once (default: one per GPU, else one per 2 CPU cores; env TESSERA_SLOTS).")]
        public int? Slots { get; set; }

        [CommandOption("--torch-threads <N>")]
        [Description("libtorch threads this silo's training uses (default: one per core; env TESSERA_TORCH_THREADS). One less than the cores leaves a core for the API and the data plane.")]
        public int? TorchThreads { get; set; }

        [CommandOption("--address <IP>")]
        [Description("Address other silos and clients reach this silo at, in cluster mode (default 127.0.0.1; env TESSERA_ADDRESS).")]
        public string? Address { get; set; }

        [CommandOption("--cluster-id <ID>")]
        [Description($"Cluster to join (default {TesseraSiloOptions.DefaultClusterId}; env TESSERA_CLUSTER_ID).")]
        public string? ClusterId { get; set; }

        [CommandOption("--submission-quota <N>")]
        [Description("Refuse a submission when its team already has N experiments queued or running (default: no limit; env TESSERA_SUBMISSION_QUOTA). Give every silo of a cluster the same value.")]
        public int? SubmissionQuota { get; set; }

        [CommandOption("--config <FILE>")]
        [Description("JSON file with any of: redis, blob, blob_container, slots, address, cluster_id, listen_any, kubernetes, http_address, submission_quota (flags and env win).")]
        public string? Config { get; set; }

        [CommandOption("--token <TOKENS>")]
        [Description("Require this cluster token (or two, comma-separated, while rotating) on the gateway and the HTTP API (default: TESSERA_TOKEN; none: no authentication).")]
        public string? Token { get; set; }

        [CommandOption("--tls-cert <PFX>")]
        [Description("Serve the HTTP API over HTTPS and the gateway and silo links over TLS with this PKCS#12 certificate (password: TESSERA_TLS_PASSWORD).")]
        public string? TlsCertificate { get; set; }

        [CommandOption("--enable-fault-injection")]
        [Description("For chaos tests only: serve POST /api/faults/kill-rank (fail a running rank as if its worker crashed) and GET /api/faults/ranks, behind the cluster token.")]
        public bool EnableFaultInjection { get; set; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        TesseraSiloOptions options;
        try
        {
            options = SiloSettings.Resolve(settings);
            options.Tokens = ClusterTokens.FromOptionOrEnvironment(settings.Token);
            options.TlsCertificatePath = settings.TlsCertificate;
            options.TlsCertificatePassword = Environment.GetEnvironmentVariable("TESSERA_TLS_PASSWORD");
            options.EnableFaultInjection = settings.EnableFaultInjection;
        }
        catch (ArgumentException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return ExitCodes.InvalidInput;
        }
        string logFile = Logging.Configure(settings.Runs, "silo", consoleLevel: LogEventLevel.Information);
        using var interrupt = Interrupt.OnCtrlC(cancellationToken);
        IHost host;
        try
        {
            host = TesseraWebHost.Build(options);
            await host.StartAsync(interrupt.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]silo failed to start[/]: {Secrets.Redact(e.Message, options)}");
            return ExitCodes.Failed;
        }
        using (host)
        {
            AnsiConsole.MarkupLineInterpolated(
                $"silo up: {SiloSettings.Describe(options, host)}, dashboard {TesseraWebHost.DashboardUrl(host)}, log {logFile}. Ctrl+C stops it.");
            if (options.EnableFaultInjection)
                AnsiConsole.MarkupLine("[yellow]fault injection is on[/]: POST /api/faults/kill-rank fails running ranks (chaos tests only)");
            try { await Task.Delay(Timeout.Infinite, interrupt.Token); }
            catch (OperationCanceledException) { }
            AnsiConsole.MarkupLine("stopping the silo…");
            int running = await TesseraWebHost.StopAsync(host, TimeSpan.FromSeconds(60));
            if (running > 0) AnsiConsole.MarkupLineInterpolated($"[yellow]{running} trainer worker(s) still running after 60 s; exiting anyway[/]");
        }
        await Log.CloseAndFlushAsync();
        return ExitCodes.Success;
    }
}
