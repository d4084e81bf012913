using System.Text;

namespace Tessera.Cli.CommandLine;

/// <summary>
/// `tessera completion zsh`: the same walk as <see cref="BashCompletion"/> in zsh's own terms, so that each
/// sub-command and option is offered with its description.
/// </summary>
public static class ZshCompletion
{
    public static string Render(IReadOnlyList<CompletionNode> nodes)
    {
        var cases = new StringBuilder();
        foreach (var node in nodes)
            cases.AppendLine($"        ({CompletionNode.Quote(node.Key)}) subcommands=({Described(node.Commands)}); flags=({Described(node.Options)}); " +
                $"valued=({string.Join(' ', node.Options.Where(o => o.TakesValue).Select(o => o.Word))}) ;;");
        // zsh's own `commands` and `options` are special parameters: the lists here are named otherwise.
        return $$"""
            #compdef tessera
            # zsh completion for tessera, written from its command tree by `tessera completion zsh`.
            # Load it with: source <(tessera completion zsh) (after compinit), or save it as _tessera in a folder of $fpath.
            _tessera() {
                local cmdpath= word i
                local -a subcommands flags valued
                # The command typed so far: each word that is a sub-command of the words before it.
                for (( i = 2; i < CURRENT; i++ )); do
                    word=${words[i]}
                    case "$cmdpath $word" in
                        ({{CompletionNode.KeyPattern(nodes)}}) cmdpath="$cmdpath $word" ;;
                    esac
                done
                case $cmdpath in
            {{cases.ToString().TrimEnd()}}
                esac
                if [[ $PREFIX == -* ]]; then
                    _describe -t options option flags
                elif (( ${valued[(Ie)${words[CURRENT-1]}]} )); then
                    _files
                elif (( $#subcommands )); then
                    _describe -t commands command subcommands
                else
                    _files
                fi
            }
            # Autoloaded from $fpath this file is the function's body; sourced, it registers the function.
            if [[ $funcstack[1] == _tessera ]]; then _tessera "$@"; else compdef _tessera tessera; fi

            """;
    }

    /// <summary>"word:description" entries, as _describe takes them.</summary>
    static string Described(IEnumerable<CompletionWord> words) =>
        string.Join(' ', words.Select(w => CompletionNode.Quote($"{w.Word}:{w.Description}")));
}
