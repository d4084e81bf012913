namespace Tessera.Infra.Specs;

/// <summary>The nearest known word to a misspelt one, for errors that say "did you mean ...?".</summary>
public static class DidYouMean
{
    /// <summary>
    /// The candidate closest to <paramref name="word"/> by edit distance (an insertion, deletion, substitution or swap of
    /// neighbours each costs 1), if it is within a third of the word's length (at least 1, at most 3); else null.
    /// </summary>
    public static string? Closest(string word, IEnumerable<string> candidates)
    {
        int limit = Math.Clamp(word.Length / 3, 1, 3);
        return candidates
            .Select(c => (Candidate: c, Distance: Distance(word.ToLowerInvariant(), c.ToLowerInvariant())))
            .Where(c => c.Distance <= limit)
            .OrderBy(c => c.Distance)
            .Select(c => c.Candidate)
            .FirstOrDefault();
    }

    /// <summary>"; did you mean 'x'?" or "" when nothing is close.</summary>
    public static string Hint(string word, IEnumerable<string> candidates) =>
        Closest(word, candidates) is { } near ? $"; did you mean '{near}'?" : "";

    /// <summary>Optimal string alignment distance (Damerau-Levenshtein without repeated edits of one substring).</summary>
    static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
