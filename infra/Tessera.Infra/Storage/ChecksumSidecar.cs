using System.Globalization;
using System.Security.Cryptography;

namespace Tessera.Infra.Storage;

/// <summary>
/// The text file "&lt;file&gt;.sha256" that records the SHA-256 and length of a local artifact.
/// Normally it holds one line, "&lt;sha256&gt; &lt;length&gt;". While an overwrite is in flight it holds two:
/// the incoming version first and the version still in place second. A data file and its sidecar cannot be
/// swapped in one atomic step, so the sidecar is widened to cover both versions before the data rename and
/// narrowed again afterwards; whichever data file a reader finds, its correct entry is in the sidecar.
/// </summary>
internal static class ChecksumSidecar
{
    public readonly record struct Entry(string Sha256, long Length);

    public static string Format(IEnumerable<Entry> entries) =>
        string.Concat(entries.Select(e => $"{e.Sha256} {e.Length.ToString(CultureInfo.InvariantCulture)}\n"));

    /// <summary>Parses sidecar text; <paramref name="file"/> only names the sidecar in the error.</summary>
    public static IReadOnlyList<Entry> Parse(string file, string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length is 0 or > 2)
            throw new InvalidDataException($"{file}: checksum sidecar has {lines.Length} entries, expected 1 or 2");
        var entries = new List<Entry>(lines.Length);
        foreach (var line in lines)
        {
            var parts = line.Split(' ');
            if (parts.Length != 2 || !IsSha256Hex(parts[0])
                || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var length))
                throw new InvalidDataException($"{file}: malformed checksum sidecar line '{line}'");
            entries.Add(new Entry(parts[0], length));
        }
        return entries;
    }

    /// <summary>
    /// Picks the entry that describes <paramref name="dataFile"/>, or null when none does. With two entries of
    /// the same length the data has to be hashed; that only happens inside the short window of an overwrite.
    /// </summary>
    public static async Task<Entry?> ResolveAsync(IReadOnlyList<Entry> entries, string dataFile, CancellationToken ct)
    {
        var length = new FileInfo(dataFile).Length;
        var candidates = entries.Where(e => e.Length == length).ToList();
        if (candidates.Count <= 1)
            return candidates.Count == 1 ? candidates[0] : null;
        var actual = await HashFileAsync(dataFile, ct).ConfigureAwait(false);
        foreach (var candidate in candidates)
        {
            if (candidate.Sha256 == actual)
                return candidate;
        }
        return null;
    }

    public static async Task<string> HashFileAsync(string file, CancellationToken ct)
    {
        await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read,
            FileShare.ReadWrite | FileShare.Delete, bufferSize: 1 << 16, useAsync: true);
        var hash = await SHA256.HashDataAsync(stream, ct).ConfigureAwait(false);
        return Convert.ToHexStringLower(hash);
    }

    public static bool IsSha256Hex(string s) =>
        s.Length == 64 && s.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');
}
