using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Cli.Help;
using Tessera.Cli;
using Tessera.Cli.CommandLine;

namespace Tessera.Tests.Cli;

/// <summary>
/// Every command of the tree, as the parser has it (hidden ones and Spectre's own `cli` commands
/// included, so a command added later is covered without a word here), refuses what it does not understand: exit
/// code 2, nothing run, and an error that names the word and suggests the nearest known one.
/// </summary>
public sealed class CommandTreeTests
{
    /// <summary>Every command by its path of names; "" is the root.</summary>
    public static TheoryData<string> Commands()
    {
        var data = new TheoryData<string> { "" };
        foreach (var (path, _) in CommandModelReader.All(CommandModelReader.Read())) data.Add(string.Join(' ', path));
        return data;
    }

    [Theory, MemberData(nameof(Commands))]
    public async Task AnUnknownOptionIsRefusedAndNamed(string command)
    {
        var (exit, error) = await Run([.. Words(command), .. Arguments(command), "--no-such-option"]);
        Assert.Equal(ExitCodes.InvalidInput, exit);
        Assert.Contains("unknown option '--no-such-option'", error);
    }

    [Theory, MemberData(nameof(Commands))]
    public async Task AMisspeltOptionIsRefusedWithTheRightOneSuggested(string command)
    {
        // Two neighbouring letters swapped, the commonest typo: `--cgf` for `--cfg`. The root and commands without
        // options of their own still take --help.
        string option = Find(command) is { } info
            ? CommandModelReader.VisibleOptions(info).SelectMany(o => o.LongNames).FirstOrDefault(n => n.Length >= 3) ?? "help"
            : "help";
        string typo = $"{option[0]}{option[2]}{option[1]}{option[3..]}";
        var (exit, error) = await Run([.. Words(command), .. Arguments(command), $"--{typo}"]);
        Assert.Equal(ExitCodes.InvalidInput, exit);
        Assert.Contains($"unknown option '--{typo}'", error);
        Assert.Contains($"did you mean '--{option}'?", error);
    }

    [Theory, MemberData(nameof(Commands))]
    public async Task ASurplusArgumentIsRefusedAndNamed(string command)
    {
        // A command that takes any number of arguments (Spectre's `cli explain`) has no surplus.
        if (Find(command)?.Parameters.OfType<ICommandParameterInfo>().Any(p => p.ParameterType.IsArray && p is ICommandArgument) == true) return;
        var (exit, error) = await Run([.. Words(command), .. Arguments(command), "surplus-word"]);
        Assert.Equal(ExitCodes.InvalidInput, exit);
        Assert.Contains("'surplus-word'", error);
    }

    [Fact]
    public async Task TheTyposOfTheIssueAreRefusedWithASuggestion()
    {
        var (exit, error) = await Run(["sample", "quickstart-1", "--class", "3", "--n", "4", "--cgf", "9", "--out", "grid.png"]);
        Assert.Equal(ExitCodes.InvalidInput, exit);
        Assert.Equal("error: unknown option '--cgf' for 'tessera sample'; did you mean '--cfg'? (`tessera sample --help` lists them)", error.Trim());

        (exit, error) = await Run(["run", "examples/quickstart.yaml", "--stpes", "3"]);
        Assert.Equal(ExitCodes.InvalidInput, exit);
        Assert.Contains("unknown option '--stpes' for 'tessera run'", error);

        (exit, error) = await Run(["sample", "quickstart-1", "--sampler", "sjd"]);
        Assert.Equal(ExitCodes.InvalidInput, exit);
        Assert.Contains("unknown option '--sampler'", error);

        (exit, error) = await Run(["--verison"]);
        Assert.Equal(ExitCodes.InvalidInput, exit);
        Assert.Contains("did you mean '--version'?", error);

        (exit, error) = await Run(["lst"]);
        Assert.Equal(ExitCodes.InvalidInput, exit);
        Assert.Contains("unknown command 'lst' for 'tessera'; did you mean 'list'?", error);

        (exit, error) = await Run(["status", "an-id", "another"]);
        Assert.Equal(ExitCodes.InvalidInput, exit);
        Assert.Contains("unexpected argument 'another': 'tessera status' takes only <id>", error);
    }

    static string[] Words(string command) => command.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    static ICommandInfo? Find(string command) => CommandModelReader.Locate(CommandModelReader.Read(), Words(command)).Command;

    /// <summary>A word for each argument the command takes, so that the word under test is the only thing wrong.</summary>
    static string[] Arguments(string command) =>
        [.. Find(command)?.Parameters.OfType<ICommandArgument>().Select(_ => "x") ?? []];

    /// <summary>
    /// Runs the command line in this process with its errors recorded. A command that wrongly accepted the word
    /// would start for real: the time limit turns that into a failure rather than a hang.
    /// </summary>
    static async Task<(int Exit, string Error)> Run(string[] args)
    {
        var writer = new StringWriter();
        var errors = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors,
        });
        errors.Profile.Width = 4096;
        int exit = await TesseraApp.RunAsync(args, errors).WaitAsync(TimeSpan.FromSeconds(60));
        return (exit, writer.ToString());
    }
}
