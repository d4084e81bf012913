using System.Diagnostics;

namespace Tessera.Tests.Cli;

/// <summary>
/// The built `tessera` run as its own process, as a script or a shell runs it: for what only a real process shows
/// (its standard output alone, a shell loading its completion script).
/// </summary>
public static class TesseraProcess
{
    public static string Executable => Path.Combine(AppContext.BaseDirectory, "tessera");

    /// <summary>Runs <paramref name="fileName"/> (default: tessera) in a fresh temp folder, so nothing lands in the test's own; two minutes at most.</summary>
    public static async Task<(int Exit, string Out, string Err)> RunAsync(IEnumerable<string> args, string? fileName = null)
    {
        string folder = Path.Combine(Path.GetTempPath(), $"tessera-proc-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        var start = new ProcessStartInfo(fileName ?? Executable)
        {
            UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = folder,
        };
        foreach (string arg in args) start.ArgumentList.Add(arg);
        start.Environment["DOTNET_gcServer"] = "0";
        start.Environment["TESSERA_EXE"] = Executable;
        try
        {
            using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName}");
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            try { await process.WaitForExitAsync(limit.Token); }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{start.FileName} {string.Join(' ', start.ArgumentList)} did not end in two minutes");
            }
            return (process.ExitCode, await output, await error);
        }
        finally { Directory.Delete(folder, recursive: true); }
    }
}
