using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Tessera.Cli.CommandLine;

namespace Tessera.Cli.Commands;

/// <summary>
/// `tessera completion bash|zsh`: a shell completion script written from the command tree the parser uses (read each
/// time, never kept), so a new command or option is offered as soon as it exists.
/// </summary>
public sealed class CompletionCommand : Command<CompletionCommand.Settings>
{
    static readonly Dictionary<string, Func<IReadOnlyList<CompletionNode>, string>> Shells = new()
    {
        ["bash"] = BashCompletion.Render,
        ["zsh"] = ZshCompletion.Render,
    };

    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<shell>")]
        [Description("bash or zsh.")]
        public string Shell { get; set; } = "";

        public override ValidationResult Validate() => Shells.ContainsKey(Shell)
            ? ValidationResult.Success()
            : ValidationResult.Error($"no completion for shell '{Shell}': expected {string.Join(" or ", Shells.Keys)}");
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        Console.Out.Write(Shells[settings.Shell](CompletionNode.All(CommandModelReader.Read())));
        return ExitCodes.Success;
    }
}
