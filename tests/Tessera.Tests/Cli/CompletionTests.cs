using Tessera.Cli.CommandLine;

namespace Tessera.Tests.Cli;

/// <summary>
/// `tessera completion bash|zsh`: bash loads the script and, walked over the whole command tree, it offers each
/// command's sub-commands and options as the parser knows them; the zsh script carries the same tree.
/// </summary>
public sealed class CompletionTests
{
    static readonly IReadOnlyList<CompletionNode> Tree = CompletionNode.All(CommandModelReader.Read());

    [Fact]
    public async Task BashLoadsTheScriptAndRegistersIt()
    {
        var (exit, output, error) = await TesseraProcess.RunAsync(["-c", "source <(\"$TESSERA_EXE\" completion bash) && complete -p tessera"], "bash");
        Assert.True(exit == 0, error);
        Assert.Equal("complete -o default -F _tessera tessera", output.Trim());
    }

    [Fact]
    public async Task InBashEveryCommandCompletesFromItsPrefixAndOffersItsOptions()
    {
        // One question per line: the words typed, the last one being completed; bash answers with the offers.
        var questions = new List<(string[] Words, string[] Expected)>();
        foreach (var node in Tree)
        {
            foreach (var child in node.Commands)
            {
                string[] offered = [.. node.Commands.Select(c => c.Word).Where(w => w.StartsWith(child.Word[..2], StringComparison.Ordinal))];
                questions.Add(([.. node.Path, child.Word[..2]], offered));
            }
            questions.Add(([.. node.Path, "--"], [.. node.Options.Select(o => o.Word).Where(w => w.StartsWith("--", StringComparison.Ordinal))]));
        }
        questions.Add((["sample", "x", "--runs", ""], [])); // an option's value: left to bash's file names
        string script = "source <(\"$TESSERA_EXE\" completion bash)\n" +
            "ask() { COMP_WORDS=(tessera \"$@\"); COMP_CWORD=$#; COMPREPLY=(); _tessera; echo \"${COMPREPLY[*]}\"; }\n" +
            string.Join('\n', questions.Select(q => "ask " + string.Join(' ', q.Words.Select(CompletionNode.Quote))));

        var (exit, output, error) = await TesseraProcess.RunAsync(["-c", script], "bash");
        Assert.True(exit == 0, error);
        string[] answers = output.Split('\n')[..questions.Count];
        for (int i = 0; i < questions.Count; i++)
            Assert.True(string.Join(' ', questions[i].Expected) == answers[i],
                $"tessera {string.Join(' ', questions[i].Words)}<TAB>: offered '{answers[i]}', expected '{string.Join(' ', questions[i].Expected)}'");
        Assert.Contains(Tree, n => n.Path.SequenceEqual(["store", "verify"]) && n.Options.Any(o => o.Word == "--json"));
    }

    [Fact]
    public void TheZshScriptCarriesEveryCommandAndOptionWithItsDescription()
    {
        string script = ZshCompletion.Render(Tree);
        Assert.StartsWith("#compdef tessera\n", script);
        foreach (var node in Tree)
        {
            Assert.Contains($"({CompletionNode.Quote(node.Key)}) subcommands=(", script);
            foreach (var word in node.Commands.Concat(node.Options))
                Assert.Contains(CompletionNode.Quote($"{word.Word}:{word.Description}"), script);
        }
    }

    [Fact]
    public void HiddenCommandsAreNotOffered()
    {
        var model = CommandModelReader.Read();
        Assert.Contains(CommandModelReader.All(model), c => c.Command.IsHidden); // so that this test tests something
        var hidden = CommandModelReader.All(model).Where(c => c.Command.IsHidden).Select(c => c.Path).ToList();
        Assert.DoesNotContain(Tree, n => hidden.Any(h => n.Path.Take(h.Length).SequenceEqual(h)));
        Assert.DoesNotContain(Tree, n => n.Commands.Any(c => hidden.Any(h => h[^1] == c.Word && n.Path.SequenceEqual(h[..^1]))));
    }
}
