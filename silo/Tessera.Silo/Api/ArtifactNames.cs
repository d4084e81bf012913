namespace Tessera.Silo.Api;

/// <summary>Which artifact names the API serves, and as what. Names are relative to the experiment's folder.</summary>
public static class ArtifactNames
{
    // Only small, viewable files: checkpoints and dataset shards are bulk data and stay off the HTTP API.
    static readonly Dictionary<string, string> Types = new(StringComparer.OrdinalIgnoreCase)
    {
        [".png"] = "image/png",
        [".json"] = "application/json",
        [".jsonl"] = "application/x-ndjson",
        [".md"] = "text/markdown; charset=utf-8",
        [".yaml"] = "application/yaml",
        [".txt"] = "text/plain; charset=utf-8",
    };

    /// <summary>The content type of a servable name, or null when the API does not serve files of that kind.</summary>
    public static string? ContentType(string name) => Types.GetValueOrDefault(Path.GetExtension(name));

    /// <summary>An experiment id as used for a store folder: one plain path segment.</summary>
    public static bool IsValidId(string id) =>
        id.Length is > 0 and <= 200 && id is not "." and not ".." && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    /// <summary>
    /// True when <paramref name="name"/> stays inside the experiment folder: relative, forward slashes, no empty,
    /// "." or ".." segments, no still-encoded characters (so neither "../other/x.png" nor "/etc/passwd" reaches the store).
    /// </summary>
    public static bool IsInsideExperiment(string name) =>
        name.Length is > 0 and <= 400
        && !name.Contains('\\') && !name.Contains(':') && !name.Contains('%') && !name.Contains('\0')
        && name.Split('/').All(segment => segment.Length > 0 && segment is not "." and not "..");
}
