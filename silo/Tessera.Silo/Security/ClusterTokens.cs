using System.Security.Cryptography;
using System.Text;

namespace Tessera.Silo.Security;

/// <summary>
/// The cluster tokens a silo accepts from clients (the gateway and the HTTP API). None configured means
/// authentication is off, as embedded `tessera run` needs. Two may be accepted at once, so a token is rotated without
/// downtime: add the new one beside the old, move the clients, drop the old. The tokens themselves never appear in
/// <see cref="ToString"/>, logs or error messages.
/// </summary>
public sealed class ClusterTokens
{
    /// <summary>Where the CLI and the silo read tokens from when no --token is given: one token, or two separated by a comma.</summary>
    public const string EnvironmentVariable = "TESSERA_TOKEN";
    /// <summary>The RequestContext key that carries the token with every grain call.</summary>
    public const string RequestContextKey = "tessera-token";
    /// <summary>Short tokens can be guessed; a random 32-character one is what `openssl rand -hex 16` gives.</summary>
    public const int MinimumLength = 16;

    readonly byte[][] _hashes;

    ClusterTokens(IReadOnlyList<string> tokens)
    {
        Primary = tokens.Count > 0 ? tokens[0] : null;
        _hashes = tokens.Select(Hash).ToArray();
    }

    public static ClusterTokens None { get; } = new([]);

    /// <summary>
    /// Tokens from "a" or "a,b" (blank: none). Throws <see cref="ArgumentException"/> for more than two or one shorter
    /// than <see cref="MinimumLength"/>, without quoting them.
    /// </summary>
    public static ClusterTokens Parse(string? value)
    {
        var tokens = (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (tokens.Length > 2)
            throw new ArgumentException($"{tokens.Length} cluster tokens given; at most two are accepted at once (the current and the next)");
        if (tokens.Any(t => t.Length < MinimumLength))
            throw new ArgumentException($"a cluster token is shorter than {MinimumLength} characters");
        return new ClusterTokens(tokens);
    }

    /// <summary>From <paramref name="value"/> if given, else from <see cref="EnvironmentVariable"/>.</summary>
    public static ClusterTokens FromOptionOrEnvironment(string? value) =>
        Parse(string.IsNullOrWhiteSpace(value) ? Environment.GetEnvironmentVariable(EnvironmentVariable) : value);

    public bool Enabled => _hashes.Length > 0;

    /// <summary>The token this silo presents on its own calls (the first given).</summary>
    public string? Primary { get; }

    /// <summary>True if <paramref name="presented"/> is one of the tokens; compares in constant time.</summary>
    public bool Accepts(string? presented)
    {
        if (presented is null) return false;
        var hash = Hash(presented);
        bool match = false;
        foreach (var expected in _hashes) match |= CryptographicOperations.FixedTimeEquals(hash, expected);
        return match;
    }

    // Hashing first makes the comparison independent of the lengths too.
    static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    public override string ToString() => Enabled ? $"{_hashes.Length} cluster token(s)" : "no cluster token";
}
