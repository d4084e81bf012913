using System.Globalization;
using System.Text;

namespace Tessera.Infra.Specs;

/// <summary>The stage schema as Markdown tables: what `tessera schema` prints and the README embeds.</summary>
public static class SchemaMarkdown
{
    public static string Render()
    {
        var text = new StringBuilder();
        foreach (var (kind, settings) in StageSchemas.Kinds)
        {
            text.AppendLine($"`{kind}`:").AppendLine();
            text.AppendLine("| key | default | meaning |").AppendLine("| --- | --- | --- |");
            foreach (var s in settings)
            {
                string value = s.Default switch
                {
                    "" when s.RefersTo is { } target => $"the nearest earlier `{target}` stage",
                    string str => $"`{str}`",
                    double d => d.ToString("0.#####", CultureInfo.InvariantCulture),
                    var other => Convert.ToString(other, CultureInfo.InvariantCulture) ?? "",
                };
                string choices = s.Choices is { } c ? $" ({string.Join(", ", c)})" : "";
                text.AppendLine($"| `{s.Key}` | {value} | {s.Doc}{choices} |");
            }
            text.AppendLine();
        }
        return text.ToString().TrimEnd() + "\n";
    }
}
