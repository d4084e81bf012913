using Spectre.Console.Cli;
using Spectre.Console.Cli.Help;
using Spectre.Console.Rendering;

namespace Tessera.Cli.CommandLine;

/// <summary>
/// The command tree as Spectre.Console.Cli itself built it from <see cref="TesseraApp.Create"/>: every command with its
/// arguments and options. Completion scripts and usage errors read it here rather than keeping lists of their own,
/// so that they cannot drift from what the parser accepts.
/// </summary>
public static class CommandModelReader
{
    /// <summary>
    /// Spectre hands its model to nothing but a help provider, so this asks a fresh app for its root help through one
    /// that keeps the model and draws nothing.
    /// </summary>
    public static ICommandModel Read()
    {
        var keeper = new ModelKeeper();
        var app = TesseraApp.Create();
        app.Configure(config => config.SetHelpProvider(keeper));
        app.Run(["--help"]);
        return keeper.Model ?? throw new InvalidOperationException("the command line drew no help, so its model could not be read");
    }

    /// <summary>Every command below <paramref name="container"/>, branches and hidden ones too, parents first, with its path of names.</summary>
    public static IEnumerable<(string[] Path, ICommandInfo Command)> All(ICommandContainer container, string[]? above = null)
    {
        foreach (var command in container.Commands)
        {
            string[] path = [.. above ?? [], command.Name];
            yield return (path, command);
            foreach (var below in All(command, path)) yield return below;
        }
    }

    /// <summary>
    /// The command that <paramref name="args"/> name: the leading words that are each a sub-command of the one before.
    /// It stops at the first other word, as the parser does (an option, or an argument); a null command is the root.
    /// </summary>
    public static (string[] Path, ICommandInfo? Command) Locate(ICommandModel model, IReadOnlyList<string> args)
    {
        ICommandContainer container = model;
        ICommandInfo? command = null;
        var path = new List<string>();
        foreach (string word in args)
        {
            var next = container.Commands.FirstOrDefault(c => string.Equals(c.Name, word, StringComparison.OrdinalIgnoreCase));
            if (next is null) break;
            (command, container) = (next, next);
            path.Add(next.Name);
        }
        return ([.. path], command);
    }

    /// <summary>The options a user can see: not hidden, in the order the settings declare them.</summary>
    public static IEnumerable<ICommandOption> VisibleOptions(ICommandInfo command) =>
        command.Parameters.OfType<ICommandOption>().Where(o => !o.IsHidden);

    sealed class ModelKeeper : IHelpProvider
    {
        public ICommandModel? Model { get; private set; }

        public IEnumerable<IRenderable> Write(ICommandModel model, ICommandInfo? command)
        {
            Model = model;
            return [];
        }
    }
}
