namespace Tessera.Infra.Data;

/// <summary>
/// Input data (an image file, an IDX file, a shard, a manifest) is not what it should be. The message is
/// "&lt;file&gt;: &lt;problem&gt;" so that a CLI can print it as is and the user knows which file to look at.
/// </summary>
public class DataFormatException(string file, string problem, Exception? inner = null) : Exception($"{file}: {problem}", inner)
{
    /// <summary>The offending file, artifact path or resource name.</summary>
    public string File { get; } = file;

    /// <summary>What is wrong with it, without the file name.</summary>
    public string Problem { get; } = problem;
}

/// <summary>A dataset was asked for by name but has no manifest in the store.</summary>
public sealed class DatasetNotFoundException(string name, string location)
    : FileNotFoundException($"dataset '{name}' does not exist in {location} (no {DatasetStore.ManifestPath(name)})")
{
    public string Name { get; } = name;
}
