using System.Text.RegularExpressions;
using Spectre.Console.Cli.Help;

namespace Tessera.Cli.CommandLine;

/// <summary>A word a shell offers: a sub-command or an option, with the description the help shows.</summary>
public sealed record CompletionWord(string Word, string Description, bool TakesValue = false);

/// <summary>
/// One place in the command tree as a shell completes it: the sub-commands and options that may follow
/// <see cref="Path"/> (empty: the root). Hidden commands and options are left out, as the help leaves them out.
/// </summary>
public sealed partial record CompletionNode(IReadOnlyList<string> Path, IReadOnlyList<CompletionWord> Commands, IReadOnlyList<CompletionWord> Options)
{
    /// <summary>Every visible place of the tree, the root first, read from the parser's own model.</summary>
    public static IReadOnlyList<CompletionNode> All(ICommandModel model)
    {
        var help = UsageErrors.HelpOptions.Select(o => new CompletionWord(o, "Prints help information"));
        var nodes = new List<CompletionNode>
        {
            new([], Children(model), [.. help, new CompletionWord(UsageErrors.VersionOption, "Prints the version (as `tessera version`)")]),
        };
        foreach (var (path, command) in CommandModelReader.All(model))
        {
            if (path.Length > 1 && !nodes.Any(n => n.Path.SequenceEqual(path[..^1]))) continue; // below a hidden one
            if (command.IsHidden) continue;
            var options = CommandModelReader.VisibleOptions(command).SelectMany(o =>
                o.LongNames.Select(n => $"--{n}").Concat(o.ShortNames.Select(n => $"-{n}"))
                    .Select(name => new CompletionWord(name, o.Description ?? "", !o.IsFlag)));
            nodes.Add(new(path, Children(command), [.. options, .. help]));
        }
        foreach (var word in nodes.SelectMany(n => n.Path.Concat(n.Commands.Concat(n.Options).Select(w => w.Word))))
            if (!SafeWord().IsMatch(word)) throw new InvalidOperationException($"'{word}' cannot go into a completion script unquoted");
        return nodes;
    }

    /// <summary>How both scripts spell <see cref="Path"/> while they read the command line: each word after a space ("" for the root).</summary>
    public string Key => string.Concat(Path.Select(word => $" {word}"));

    /// <summary>The pattern of a shell `case` that matches the <see cref="Key"/> of every command, and nothing else.</summary>
    public static string KeyPattern(IEnumerable<CompletionNode> nodes) =>
        string.Join('|', nodes.Where(n => n.Path.Count > 0).Select(n => Quote(n.Key)));

    /// <summary><paramref name="text"/> as one single-quoted word of bash or zsh, on one line.</summary>
    public static string Quote(string text) => $"'{text.ReplaceLineEndings(" ").Replace("'", @"'\''")}'";

    static IReadOnlyList<CompletionWord> Children(ICommandContainer container) =>
        [.. container.Commands.Where(c => !c.IsHidden).Select(c => new CompletionWord(c.Name, c.Description ?? ""))];

    /// <summary>Command and option names go into the scripts as shell words: letters, digits and dashes only.</summary>
    [GeneratedRegex("^-{0,2}[A-Za-z0-9][A-Za-z0-9_-]*$")]
    private static partial Regex SafeWord();
}
