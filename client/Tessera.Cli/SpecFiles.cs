using Spectre.Console;
using Tessera.Infra.Specs;

namespace Tessera.Cli;

/// <summary>Reads and validates a spec file, printing located errors the same way for every command.</summary>
public static class SpecFiles
{
    public static bool TryLoad(string path, out ExperimentSpec spec, out string yaml)
    {
        if (TryLoad(path, out spec, out yaml, out string error)) return true;
        AnsiConsole.MarkupLineInterpolated($"[red]invalid spec[/] {error}");
        return false;
    }

    /// <summary>As above, handing back the located error instead of printing it (`validate --json` puts it in its document).</summary>
    public static bool TryLoad(string path, out ExperimentSpec spec, out string yaml, out string error)
    {
        (spec, yaml, error) = (null!, "", "");
        try
        {
            spec = SpecParser.ParseFile(path);
            yaml = File.ReadAllText(path);
            return true;
        }
        catch (SpecException e)
        {
            error = e.Message;
            return false;
        }
    }

    /// <summary>A new experiment id: the spec's name, the UTC time and a random suffix (sortable, unique).</summary>
    public static string NewExperimentId(ExperimentSpec spec) =>
        $"{spec.Experiment}-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Random.Shared.Next(0x10000):x4}";
}
