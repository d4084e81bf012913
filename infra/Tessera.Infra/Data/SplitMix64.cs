namespace Tessera.Infra.Data;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood 2014): a tiny, well-mixed 64-bit generator. Used instead of
/// System.Random because data order must be identical on every .NET version and every machine, forever,
/// or resumed runs and held-out splits would silently change.
/// </summary>
public sealed class SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>Uniform integer in [0, <paramref name="bound"/>), without modulo bias.</summary>
    public int NextInt(int bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bound);
        var b = (ulong)bound;
        // Reject the top partial block of 2^64 so every residue is equally likely.
        var limit = ulong.MaxValue - ulong.MaxValue % b;
        ulong x;
        do
        {
            x = NextUInt64();
        } while (x >= limit);
        return (int)(x % b);
    }

    /// <summary>Fisher-Yates shuffle in place.</summary>
    public void Shuffle(Span<int> values)
    {
        for (var i = values.Length - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    /// <summary>The SplitMix64 finaliser; also used to derive independent seeds from (seed, stream) pairs.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A seed for sub-stream <paramref name="stream"/> of <paramref name="seed"/> (an epoch, a class).</summary>
    public static ulong Derive(ulong seed, ulong stream) => Mix(seed ^ Mix(stream + 0x9E3779B97F4A7C15UL));
}
