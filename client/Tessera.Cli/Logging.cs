using Serilog;
using Serilog.Events;

namespace Tessera.Cli;

/// <summary>
/// Serilog for every command: the full log goes to a file under the runs directory, and only warnings reach
/// the terminal, where the progress display lives.
/// </summary>
public static class Logging
{
    public static string Configure(string runsRoot, string command, LogEventLevel consoleLevel = LogEventLevel.Warning)
    {
        string file = Path.Combine(runsRoot, "logs", $"{command}-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}.log");
        Log.Logger = new LoggerConfiguration()
            .MinimumLevel.Information()
            .MinimumLevel.Override("Orleans", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Polly", LogEventLevel.Warning)
            .WriteTo.File(file, outputTemplate: "{Timestamp:HH:mm:ss.fff} [{Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}")
            // Orleans' start-up advice (ServerGC, thread-check notes) is for the log file, not the terminal, and
            // so is the host's stack trace when it cannot start: the command prints its own one-line reason.
            .WriteTo.Logger(console => console
                .Filter.ByExcluding(e => (e.Level < LogEventLevel.Error && IsFramework(e)) || IsSource(e, "Microsoft.Extensions.Hosting"))
                .WriteTo.Console(restrictedToMinimumLevel: consoleLevel, standardErrorFromLevel: LogEventLevel.Verbose))
            .CreateLogger();
        return file;
    }

    static bool IsFramework(LogEvent e) => IsSource(e, "Orleans") || IsSource(e, "Microsoft") || IsSource(e, "Polly");

    static bool IsSource(LogEvent e, string prefix) =>
        e.Properties.TryGetValue("SourceContext", out var source) && source.ToString().Trim('"').StartsWith(prefix);
}
