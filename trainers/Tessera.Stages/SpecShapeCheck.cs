using Tessera.Infra.Data;
using Tessera.Infra.Specs;
using Tessera.Trainers.Tokenizers;

namespace Tessera.Stages;

/// <summary>
/// Checks a parsed spec against the shape of its dataset before anything runs (`tessera validate`, `run`, `submit`):
/// a downsample that does not divide the image side, a scale schedule that does not end at the token grid side, a
/// dataset that is not square. The error names the spec line, as the parser's do; without the check the stage would
/// fail only when it starts.
/// </summary>
public static class SpecShapeCheck
{
    /// <summary>The shape of a builtin dataset before it is imported: what its importer makes.</summary>
    public static DatasetManifest? BuiltinShape(string name) => name switch
    {
        "mnist" => Shape(name, 1, 28, 10),
        IconsDataset.Name => Shape(name, 3, IconsDataset.Side, 0),
        _ => null,
    };

    static DatasetManifest Shape(string name, int channels, int side, int classes) =>
        new(name, Enumerable.Range(0, classes).Select(i => $"{i}").ToList(), channels, side, side, [], []);

    /// <exception cref="SpecException">A stage does not fit the dataset; located at the offending setting.</exception>
    public static void Check(ExperimentSpec spec, DatasetManifest manifest, string yaml, string file)
    {
        for (int i = 0; i < spec.Stages.Count; i++)
        {
            StageSpec stage = spec.Stages[i];
            if (stage.Kind != "tokenizer") continue;
            try { TokenizerStage.FromStage(stage, manifest).Validate(); }
            catch (Exception e) when (e is ArgumentException or InvalidDataException)
            {
                string key = e.Message.Contains("ScaleSchedule", StringComparison.Ordinal) ? "scales" : "downsample";
                var (line, column) = SpecLocator.Find(yaml, i, key);
                throw new SpecException(file, line, column,
                    $"stage '{stage.Name}' ({stage.Kind}) does not fit dataset '{manifest.Name}' ({manifest.Channels}x{manifest.Height}x{manifest.Width}): {e.Message}");
            }
        }
    }
}
