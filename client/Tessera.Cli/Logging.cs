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
            .WriteTo.File(file, outputTemplate: "{Timestamp:HH:mm:ss.fff} [{Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}")
            .WriteTo.Console(restrictedToMinimumLevel: consoleLevel, standardErrorFromLevel: LogEventLevel.Verbose)
            .CreateLogger();
        return file;
    }
}
