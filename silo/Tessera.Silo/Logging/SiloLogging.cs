using Microsoft.Extensions.DependencyInjection;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Compact;
using Tessera.Grains;
using Tessera.Silo.Api;

namespace Tessera.Silo.Logging;

/// <summary>
/// Serilog for a silo host: every event goes to the process's own logger (<see cref="Log.Logger"/>: the CLI's
/// console and rolling file, silent in tests) and to any <see cref="ILogEventSink"/> registered as a service;
/// events of an experiment also go to its in-memory tail (<see cref="ExperimentLogs"/>) and, off the logging
/// thread, to <c>&lt;runs&gt;/&lt;id&gt;/log.jsonl</c> in compact JSON (CLEF), one file per experiment.
/// </summary>
public static class SiloLogging
{
    public const string LogFileName = "log.jsonl";

    /// <summary>Open per-experiment files at once; the least recently written is closed (and reopened to append) past this.</summary>
    const int OpenLogFiles = 32;

    public static void AddTesseraLogging(this IServiceCollection services, TesseraSiloOptions options)
    {
        services.AddSingleton<ExperimentLogs>();
        services.AddSerilog((provider, logger) => Levels(logger)
            .ReadFrom.Services(provider)
            .WriteTo.Sink(provider.GetRequiredService<ExperimentLogs>())
            .WriteTo.Async(async => async.Map(ExperimentLogScope.ExperimentId, (id, file) =>
            {
                // The id comes from a grain key, which any client may choose: only a plain id becomes a file name.
                if (id is not null && ArtifactNames.IsValidId(id))
                    file.File(new CompactJsonFormatter(), Path.Combine(options.ArtifactRoot, id, LogFileName));
            }, sinkMapCountLimit: OpenLogFiles))
            .WriteTo.Logger(Log.Logger),
            // The process's static logger stays the CLI's; this host's logger is its own and is disposed with it.
            preserveStaticLogger: true);
    }

    /// <summary>What is worth keeping: our own events from Information up, the frameworks' from Warning.</summary>
    public static LoggerConfiguration Levels(LoggerConfiguration logger) => logger
        .MinimumLevel.Information()
        .MinimumLevel.Override("Orleans", LogEventLevel.Warning)
        .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
        .MinimumLevel.Override("Polly", LogEventLevel.Warning);
}
