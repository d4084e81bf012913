using System.Text;

namespace Tessera.Cli.CommandLine;

/// <summary>
/// `tessera completion bash`: a completion function with the command tree written into it, so that a TAB does not
/// start tessera. It finds the command typed so far, then offers that command's sub-commands or, after a dash, its
/// options; for arguments and option values bash completes file names.
/// </summary>
public static class BashCompletion
{
    public static string Render(IReadOnlyList<CompletionNode> nodes)
    {
        var cases = new StringBuilder();
        foreach (var node in nodes)
            cases.AppendLine($"        {CompletionNode.Quote(node.Key)}) commands={Words(node.Commands)}; options={Words(node.Options)}; " +
                $"valued={Words(node.Options.Where(o => o.TakesValue))} ;;");
        return $$"""
            # bash completion for tessera, written from its command tree by `tessera completion bash`.
            # Load it with: source <(tessera completion bash)
            _tessera() {
                local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} path= i
                # The command typed so far: each word that is a sub-command of the words before it.
                for ((i = 1; i < COMP_CWORD; i++)); do
                    case "$path ${COMP_WORDS[i]}" in
                        {{CompletionNode.KeyPattern(nodes)}}) path="$path ${COMP_WORDS[i]}" ;;
                    esac
                done
                local commands= options= valued=
                case $path in
            {{cases.ToString().TrimEnd()}}
                esac
                if [[ $cur == -* ]]; then
                    COMPREPLY=($(compgen -W "$options" -- "$cur"))
                elif [[ -n $commands && " $valued " != *" $prev "* ]]; then
                    COMPREPLY=($(compgen -W "$commands" -- "$cur"))
                fi
                # Anything else (an argument, an option's value) falls to bash's file names: -o default.
            }
            complete -o default -F _tessera tessera

            """;
    }

    static string Words(IEnumerable<CompletionWord> words) => CompletionNode.Quote(string.Join(' ', words.Select(w => w.Word)));
}
