using System.Buffers.Binary;
using System.Text;
using Tessera.Infra.Data;

namespace Tessera.Trainers.PostTraining;

/// <summary>
/// The frozen reference's log p_ref(x | c) of every sequence of one token shard under every condition (the classes and
/// the null class), filled as training asks for them: CCA scores each image under its class and under a batch
/// neighbour's, and with a frozen reference and fixed tokens those numbers never change, so each is computed once and
/// kept with the shard (<see cref="ToBytes"/>) for later epochs and later runs from the same reference. Keyed by the
/// shard's SHA-256 and the reference checkpoint's SHA-256, both checked by <see cref="Parse"/>. Binary layout,
/// little-endian:
/// <code>
///   "TRLP"         4 bytes magic
///   version        u32 (1)
///   count          u32     sequences of the shard
///   conditions     u32     classes + 1 (the null class last)
///   shard          64 bytes  SHA-256 (hex) of the token shard
///   reference      64 bytes  SHA-256 (hex) of the reference checkpoint
///   values         count × conditions × f32, row-major; NaN = not computed yet
/// </code>
/// </summary>
public sealed class ReferenceLogProbTable
{
    public const int CurrentVersion = 1;
    const int HeaderSize = 4 + 3 * 4 + 64 + 64;
    static ReadOnlySpan<byte> Magic => "TRLP"u8;

    readonly float[] _values;

    /// <summary>An empty table: nothing computed yet.</summary>
    public ReferenceLogProbTable(string shardSha256, string referenceSha256, int count, int conditions)
        : this(shardSha256, referenceSha256, count, conditions, null) { }

    ReferenceLogProbTable(string shardSha256, string referenceSha256, int count, int conditions, float[]? values)
    {
        RequireHash(shardSha256, nameof(shardSha256));
        RequireHash(referenceSha256, nameof(referenceSha256));
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(conditions, 2);
        (ShardSha256, ReferenceSha256, Count, Conditions) = (shardSha256, referenceSha256, count, conditions);
        if (values is null) Array.Fill(values = new float[(long)count * conditions], float.NaN);
        _values = values;
    }

    public string ShardSha256 { get; }
    public string ReferenceSha256 { get; }
    /// <summary>Sequences of the shard.</summary>
    public int Count { get; }
    /// <summary>Conditions per sequence: the classes, then the null class.</summary>
    public int Conditions { get; }
    /// <summary>Whether entries were added since the table was built, read or last written (so it is worth writing back).</summary>
    public bool Changed { get; private set; }

    /// <summary>Records that the table as it is now has been written.</summary>
    public void MarkWritten() => Changed = false;
    /// <summary>Entries computed so far.</summary>
    public int Filled => _values.Count(v => !float.IsNaN(v));

    public bool TryGet(int index, int condition, out float value)
    {
        value = _values[Offset(index, condition)];
        return !float.IsNaN(value);
    }

    public void Set(int index, int condition, float value)
    {
        if (!float.IsFinite(value)) throw new ArgumentOutOfRangeException(nameof(value), value, "a reference log-probability must be finite");
        _values[Offset(index, condition)] = value;
        Changed = true;
    }

    long Offset(int index, int condition)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"the shard has {Count} sequences");
        if ((uint)condition >= (uint)Conditions) throw new ArgumentOutOfRangeException(nameof(condition), condition, $"there are {Conditions} conditions");
        return (long)index * Conditions + condition;
    }

    public byte[] ToBytes()
    {
        var bytes = new byte[HeaderSize + 4L * _values.Length];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], CurrentVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], (uint)Count);
        BinaryPrimitives.WriteUInt32LittleEndian(span[12..], (uint)Conditions);
        Encoding.ASCII.GetBytes(ShardSha256, span[16..80]);
        Encoding.ASCII.GetBytes(ReferenceSha256, span[80..144]);
        for (int i = 0; i < _values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(span[(HeaderSize + 4 * i)..], _values[i]);
        return bytes;
    }

    /// <summary>
    /// Reads a table written by <see cref="ToBytes"/> and checks it is the one asked for: same shard, same reference,
    /// same size. Anything else is a <see cref="DataFormatException"/> naming <paramref name="path"/> and the mismatch,
    /// so the caller can report it and start an empty table instead.
    /// </summary>
    public static ReferenceLogProbTable Parse(string path, ReadOnlySpan<byte> bytes, string shardSha256, string referenceSha256, int count, int conditions)
    {
        if (bytes.Length < HeaderSize || !bytes[..4].SequenceEqual(Magic))
            throw new DataFormatException(path, "not a reference log-probability table (bad magic number or shorter than its header)");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]);
        if (version != CurrentVersion) throw new DataFormatException(path, $"table version {version} is not supported (expected {CurrentVersion})");
        long storedCount = BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]), storedConditions = BinaryPrimitives.ReadUInt32LittleEndian(bytes[12..]);
        string storedShard = Encoding.ASCII.GetString(bytes[16..80]), storedReference = Encoding.ASCII.GetString(bytes[80..144]);
        if (storedShard != shardSha256)
            throw new DataFormatException(path, $"made for token shard {storedShard[..12]}…, not {shardSha256[..12]}… (the shard changed)");
        if (storedReference != referenceSha256)
            throw new DataFormatException(path, $"made with reference checkpoint {storedReference[..12]}…, not {referenceSha256[..12]}…");
        if (storedCount != count || storedConditions != conditions)
            throw new DataFormatException(path, $"holds {storedCount} x {storedConditions} values, expected {count} x {conditions}");
        if (bytes.Length != HeaderSize + 4 * count * (long)conditions)
            throw new DataFormatException(path, $"is {bytes.Length} bytes but its header describes {HeaderSize + 4 * count * (long)conditions} (truncated or corrupt)");
        var values = new float[(long)count * conditions];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(HeaderSize + 4 * i)..]);
            if (float.IsInfinity(values[i])) throw new DataFormatException(path, $"value {i} is infinite");
        }
        return new ReferenceLogProbTable(shardSha256, referenceSha256, count, conditions, values);
    }

    static void RequireHash(string sha256, string name)
    {
        if (sha256 is null || sha256.Length != 64 || !sha256.All(Uri.IsHexDigit))
            throw new ArgumentException($"{name} must be 64 hex characters, got '{sha256}'", name);
    }
}
