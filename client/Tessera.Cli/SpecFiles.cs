using Spectre.Console;
using Tessera.Infra.Data;
using Tessera.Infra.Specs;
using Tessera.Infra.Storage;
using Tessera.Stages;

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
            if (KnownShape(spec.Dataset.Name) is { } manifest) SpecShapeCheck.Check(spec, manifest, yaml, path);
            return true;
        }
        catch (SpecException e)
        {
            error = e.Message;
            return false;
        }
    }

    /// <summary>
    /// The dataset's shape where this machine knows it: the manifest of a dataset imported into ./runs (the embedded
    /// default), else a builtin's. A dataset known only to a cluster's store is checked when its stage starts.
    /// </summary>
    static DatasetManifest? KnownShape(string dataset)
    {
        var store = new LocalArtifactStore("runs");
        try
        {
            if (File.Exists(Path.Combine("runs", DatasetStore.ManifestPath(dataset))))
                return DatasetStore.ReadManifestAsync(store, dataset).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is IOException or DataFormatException or System.Text.Json.JsonException) { } // the run reports it, naming the file
        return SpecShapeCheck.BuiltinShape(dataset);
    }

    /// <summary>A new experiment id: the spec's name, the UTC time and a random suffix (sortable, unique).</summary>
    public static string NewExperimentId(ExperimentSpec spec) =>
        $"{spec.Experiment}-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Random.Shared.Next(0x10000):x4}";
}
