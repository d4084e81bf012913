using Serilog;
using Serilog.Events;
using Serilog.Templates;
using Tessera.Silo.Logging;

namespace Tessera.Cli;

/// <summary>
/// Serilog for every command: the full log goes to a rolling file under the runs directory, and the terminal gets
/// what the command asks for (warnings while a progress display owns it; everything for `tessera silo`). A silo
/// host in this process forwards its events here (<see cref="SiloLogging"/>), each tagged with the experiment
/// and stage it belongs to.
/// </summary>
public static class Logging
{
    /// <summary>A file rolls over at this size (and at midnight) so a silo that runs for weeks keeps readable files.</summary>
    const long FileSizeLimit = 64L << 20;

    /// <summary>Files kept per process: a month of days, or that many size roll-overs.</summary>
    const int RetainedFiles = 31;

    // "[experiment/stage]" only on events that belong to one.
    const string Line = "{@t:HH:mm:ss.fff} [{@l:u3}]{#if ExperimentId is not null} [{ExperimentId}{#if Stage is not null}/{Stage}{#end}]{#end} {SourceContext}: {@m}\n{@x}";

    /// <summary>Sets <see cref="Log.Logger"/> for this command and returns the path of its log file (today's).</summary>
    public static string Configure(string runsRoot, string command, LogEventLevel consoleLevel = LogEventLevel.Warning)
    {
        // The sink inserts the date before the extension ("silo-4242-20261128.log") and "_001"... on a size roll-over.
        string file = Path.Combine(runsRoot, "logs", $"{command}-{Environment.ProcessId}-.log");
        Log.Logger = SiloLogging.Levels(new LoggerConfiguration())
            .WriteTo.File(new ExpressionTemplate(Line), file, rollingInterval: RollingInterval.Day,
                fileSizeLimitBytes: FileSizeLimit, rollOnFileSizeLimit: true, retainedFileCountLimit: RetainedFiles)
            // Orleans' start-up advice (ServerGC, thread-check notes) is for the log file, not the terminal, and
            // so is the host's stack trace when it cannot start: the command prints its own one-line reason.
            .WriteTo.Logger(console => console
                .Filter.ByExcluding(e => (e.Level < LogEventLevel.Error && IsFramework(e)) || IsSource(e, "Microsoft.Extensions.Hosting"))
                .WriteTo.Console(new ExpressionTemplate(Line), restrictedToMinimumLevel: consoleLevel, standardErrorFromLevel: LogEventLevel.Verbose))
            .CreateLogger();
        // Local time, as the rolling sink names its files.
        return file.Replace("-.log", $"-{DateTime.Now:yyyyMMdd}.log");
    }

    static bool IsFramework(LogEvent e) => IsSource(e, "Orleans") || IsSource(e, "Microsoft") || IsSource(e, "Polly");

    static bool IsSource(LogEvent e, string prefix) =>
        e.Properties.TryGetValue("SourceContext", out var source) && source.ToString().Trim('"').StartsWith(prefix);
}
