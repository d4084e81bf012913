using Spectre.Console;
using Tessera.Infra.Specs;

namespace Tessera.Cli;

/// <summary>Reads and validates a spec file, printing located errors the same way for every command.</summary>
public static class SpecFiles
{
    public static bool TryLoad(string path, out ExperimentSpec spec, out string yaml)
    {
        spec = null!;
        yaml = "";
        try
        {
            spec = SpecParser.ParseFile(path);
            yaml = File.ReadAllText(path);
            return true;
        }
        catch (SpecException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]invalid spec[/] {e.Message}");
            return false;
        }
    }

    /// <summary>A new experiment id: the spec's name, the UTC time and a random suffix (sortable, unique).</summary>
    public static string NewExperimentId(ExperimentSpec spec) =>
        $"{spec.Experiment}-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Random.Shared.Next(0x10000):x4}";
}
