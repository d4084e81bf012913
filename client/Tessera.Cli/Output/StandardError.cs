using Spectre.Console;

namespace Tessera.Cli.Output;

/// <summary>
/// A console on standard error, for what a person reads and a script does not: usage errors always, and every
/// message of a command under `--json`, whose standard output is then the JSON document alone.
/// </summary>
public static class StandardError
{
    static readonly Lazy<IAnsiConsole> Lazy = new(() =>
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Error) });
        // Into a file or a pipe a message stays on one line (a terminal wraps at its own width).
        if (System.Console.IsErrorRedirected) console.Profile.Width = 4096;
        return console;
    });

    public static IAnsiConsole Console => Lazy.Value;
}
