using Spectre.Console.Cli;
using Tessera.Infra.Specs;

namespace Tessera.Cli.Commands;

/// <summary>`tessera schema`: every stage kind and its settings with defaults, as Markdown.</summary>
public sealed class SchemaCommand : Command
{
    public override int Execute(CommandContext context, CancellationToken cancellationToken)
    {
        Console.Write(SchemaMarkdown.Render());
        return ExitCodes.Success;
    }
}
