using Tessera.Infra.Data;

namespace Tessera.Trainers.PostTraining;

/// <summary>DPO's data: row i of <see cref="Chosen"/> is preferred over row i of <see cref="Rejected"/> for the same class.</summary>
public sealed record PreferencePairs
{
    public PreferencePairs(TokenBatch chosen, TokenBatch rejected)
    {
        ArgumentNullException.ThrowIfNull(chosen);
        ArgumentNullException.ThrowIfNull(rejected);
        if (chosen.Count != rejected.Count || chosen.Length != rejected.Length)
            throw new ArgumentException($"{chosen.Count} chosen sequences of {chosen.Length} tokens against {rejected.Count} rejected of {rejected.Length}");
        if (!chosen.Labels.SequenceEqual(rejected.Labels))
            throw new ArgumentException("a chosen and a rejected sequence of one pair must have the same class");
        Chosen = chosen;
        Rejected = rejected;
    }

    public TokenBatch Chosen { get; }
    public TokenBatch Rejected { get; }

    /// <summary>The pairs at <paramref name="rows"/>, in that order.</summary>
    public PreferencePairs Select(int[] rows) => new(Rows(Chosen, rows), Rows(Rejected, rows));

    internal static TokenBatch Rows(TokenBatch batch, int[] rows)
    {
        int n = batch.Length;
        var tokens = new int[rows.Length * n];
        for (int i = 0; i < rows.Length; i++) batch.Sequence(rows[i]).CopyTo(tokens.AsSpan(i * n, n));
        return new TokenBatch(tokens, rows.Select(r => batch.Labels[r]).ToArray(), rows.Length, n);
    }
}

/// <summary>An endless, deterministic stream of preference pairs.</summary>
public interface IPreferenceSource
{
    PreferencePairs Next(int batchSize);
}
