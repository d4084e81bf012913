using YamlDotNet.RepresentationModel;

namespace Tessera.Infra.Specs;

/// <summary>
/// Where in the spec's text a stage or one of its settings is written, for errors found after parsing (a check against
/// the dataset's manifest): the error then names the line, as the parser's own do.
/// </summary>
public static class SpecLocator
{
    /// <summary>Line and column (1-based) of <paramref name="key"/> in stage <paramref name="stageIndex"/>, else of the
    /// stage itself; (0, 0) if the text does not have it (a setting left to its default).</summary>
    public static (int Line, int Column) Find(string yaml, int stageIndex, string? key)
    {
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root) return (0, 0);
            if (!root.Children.TryGetValue(new YamlScalarNode("stages"), out var stages) || stages is not YamlSequenceNode list
                || stageIndex >= list.Children.Count) return (0, 0);
            var stage = list.Children[stageIndex];
            if (key is not null && stage is YamlMappingNode settings)
                foreach (var (name, _) in settings.Children)
                    if (name is YamlScalarNode { Value: var text } && text == key) return ((int)name.Start.Line, (int)name.Start.Column);
            return ((int)stage.Start.Line, (int)stage.Start.Column);
        }
        catch (YamlDotNet.Core.YamlException) { return (0, 0); } // the parser has accepted this text; a locator never fails a check
    }
}
