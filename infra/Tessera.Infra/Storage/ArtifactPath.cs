namespace Tessera.Infra.Storage;

/// <summary>
/// Rules for artifact path keys, shared by every store so that a key valid in one store is valid in all.
/// Keys are relative and '/'-separated; anything that could escape the store root, alias another key or
/// collide with a store's own bookkeeping files is rejected up front.
/// </summary>
public static class ArtifactPath
{
    /// <summary>Prefix of in-flight temp files; listings skip any entry whose name starts with it.</summary>
    public const string TempPrefix = ".tmp-";

    /// <summary>Suffix of the checksum sidecar that sits next to each data file.</summary>
    public const string SidecarSuffix = ".sha256";

    /// <summary>Throws <see cref="ArgumentException"/> naming the key and the rule it breaks.</summary>
    public static void Validate(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var problem = Problem(path);
        if (problem is not null)
            throw new ArgumentException($"invalid artifact path '{path}': {problem}", nameof(path));
    }

    /// <summary>
    /// A listing prefix may end mid-segment ("datasets/mn") or be empty, but must not point outside the store:
    /// it is used to pick the directory where the listing starts.
    /// </summary>
    public static void ValidatePrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (prefix.Length == 0)
            return;
        var problem = Problem(prefix.EndsWith('/') ? prefix[..^1] : prefix);
        if (problem is not null)
            throw new ArgumentException($"invalid artifact prefix '{prefix}': {problem}", nameof(prefix));
    }

    /// <summary>The reason a key is invalid, or null when it is fine.</summary>
    public static string? Problem(string path)
    {
        if (path.Length == 0)
            return "it is empty";
        if (path.Contains('\\'))
            return "use '/' as the separator, not '\\'";
        if (path.StartsWith('/') || (path.Length >= 2 && path[1] == ':'))
            return "it must be relative, not absolute";
        if (path.Any(char.IsControl))
            return "it contains a control character";
        foreach (var segment in path.Split('/'))
        {
            if (segment.Length == 0)
                return "it has an empty segment (leading, trailing or doubled '/')";
            if (segment is "." or "..")
                return $"segment '{segment}' is not allowed";
            // These names are reserved for the store's own temp files and sidecars; allowing them would
            // let one artifact hide or overwrite another's checksum.
            if (segment.StartsWith(TempPrefix, StringComparison.Ordinal))
                return $"segment '{segment}' starts with the reserved prefix '{TempPrefix}'";
            if (segment.EndsWith(SidecarSuffix, StringComparison.Ordinal))
                return $"segment '{segment}' ends with the reserved suffix '{SidecarSuffix}'";
        }
        return null;
    }

    /// <summary>True for names a listing must not report (temp files, sidecars).</summary>
    public static bool IsBookkeeping(string fileName) =>
        fileName.StartsWith(TempPrefix, StringComparison.Ordinal)
        || fileName.EndsWith(SidecarSuffix, StringComparison.Ordinal);
}
