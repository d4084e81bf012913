using System.Text.RegularExpressions;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Cli.Help;
using Tessera.Infra.Specs;

namespace Tessera.Cli.CommandLine;

/// <summary>
/// What the command line says when it cannot run a command. A word it does not understand is named, and the nearest
/// known one suggested (`--cgf`: did you mean '--cfg'?), because a silently ignored typo runs hours of training on
/// settings the user never chose. The parser's other messages pass through as they are.
/// </summary>
public static partial class UsageErrors
{
    /// <summary>Every command takes these (the parser's own help option).</summary>
    public static readonly string[] HelpOptions = ["-h", "--help"];

    /// <summary>`tessera --version` runs `tessera version` (<see cref="TesseraApp.RunAsync(string[])"/> maps it).</summary>
    public const string VersionOption = "--version";

    /// <summary>What the root takes.</summary>
    public static readonly string[] RootOptions = [.. HelpOptions, VersionOption];

    /// <summary>
    /// Prints the error and returns the exit code: 2 for a usage error (unknown option or command, surplus or missing
    /// argument, failed validation: nothing ran), 1 for anything else escaping a command (the run itself failed).
    /// </summary>
    public static int Report(Exception exception, IReadOnlyList<string> args, IAnsiConsole errors)
    {
        string message = exception is CommandParseException ? Describe(exception.Message, args, CommandModelReader.Read()) : exception.Message;
        errors.MarkupLineInterpolated($"[red]error:[/] {message}");
        return exception is CommandAppException ? ExitCodes.InvalidInput : ExitCodes.Failed;
    }

    /// <summary>The parser's <paramref name="message"/> about <paramref name="args"/>, retold with the command it concerns and a suggestion.</summary>
    public static string Describe(string message, IReadOnlyList<string> args, ICommandModel model)
    {
        var (path, command) = CommandModelReader.Locate(model, args);
        string where = string.Join(' ', ["tessera", .. path]);
        if (UnknownOption().Match(message) is { Success: true } option)
        {
            string written = AsWritten(option.Groups["name"].Value, args);
            string[] known = command is null ? RootOptions : [.. Names(command), .. HelpOptions];
            return $"unknown option '{written}' for '{where}'{Hint(written, known)} (`{where} --help` lists them)";
        }
        var word = UnknownCommand().Match(message) is { Success: true } unknown ? unknown : Unmatched().Match(message);
        if (!word.Success) return message;
        string name = word.Groups["name"].Value;
        if (command is null || command.IsBranch)
        {
            var children = (command is null ? model.Commands : command.Commands).Where(c => !c.IsHidden).Select(c => c.Name);
            return $"unknown command '{name}' for '{where}'{DidYouMean.Hint(name, children)}";
        }
        var arguments = command.Parameters.OfType<ICommandArgument>().OrderBy(a => a.Position).Select(a => $"<{a.Value}>").ToList();
        return $"unexpected argument '{name}': '{where}' takes {(arguments.Count == 0 ? "no arguments" : $"only {string.Join(' ', arguments)}")}";
    }

    /// <summary>
    /// "; did you mean '--cfg'?" when a known option is close; names compare without their dashes. A one-letter name
    /// gets no hint: every other one-letter option would be as close.
    /// </summary>
    static string Hint(string written, IEnumerable<string> known)
    {
        string name = written.TrimStart('-');
        if (name.Length < 2) return "";
        var byName = known.GroupBy(k => k.TrimStart('-')).ToDictionary(g => g.Key, g => g.First());
        return DidYouMean.Closest(name, byName.Keys) is { } near ? $"; did you mean '{byName[near]}'?" : "";
    }

    static IEnumerable<string> Names(ICommandInfo command) =>
        CommandModelReader.VisibleOptions(command).SelectMany(o => o.LongNames.Select(n => $"--{n}").Concat(o.ShortNames.Select(n => $"-{n}")));

    /// <summary>The parser names an option without its dashes; the user wrote `--name`, `--name=value` or `-n`.</summary>
    static string AsWritten(string name, IReadOnlyList<string> args) =>
        args.Any(a => a == $"--{name}" || a.StartsWith($"--{name}=", StringComparison.Ordinal) || a.StartsWith($"--{name}:", StringComparison.Ordinal))
            ? $"--{name}" : $"-{name}";

    // The parser's wording (Spectre.Console.Cli 0.57); a reworded message passes through unchanged, and
    // CommandTreeTests fails, since it looks for the suggestion.
    [GeneratedRegex(@"^(Unknown|Unexpected) option '(?<name>[^']*)'\.$")]
    private static partial Regex UnknownOption();

    [GeneratedRegex(@"^Unknown command '(?<name>[^']*)'\.$")]
    private static partial Regex UnknownCommand();

    [GeneratedRegex(@"^Could not match '(?<name>[^']*)' with an argument\.$")]
    private static partial Regex Unmatched();
}
