using System.Buffers.Binary;
using System.Text;

namespace Tessera.Infra.Data;

/// <summary>
/// One shard of a tokenized dataset: every image of an image shard as a token sequence, stamped with the
/// tokenizer that made it. Binary layout, little-endian:
/// <code>
///   "TTOK"            4 bytes magic
///   version           u32 (1)
///   count, length     u32, u32     sequences and tokens per sequence
///   codebook size     u32          every token is below it
///   tokenizer         64 bytes     SHA-256 (hex) of the tokenizer checkpoint
///   scales            u32 k, then k × u32   side of each scale's grid, coarse to fine
///   labels            count × i32
///   tokens            count × length × u16
/// </code>
/// </summary>
public sealed class TokenShard
{
    public const int CurrentVersion = 1;
    static ReadOnlySpan<byte> Magic => "TTOK"u8;

    public TokenShard(string tokenizerSha256, IReadOnlyList<int> scales, int codebookSize, int[] tokens, int[] labels)
    {
        int length = scales.Sum(s => s * s);
        if (tokenizerSha256.Length != 64) throw new ArgumentException("tokenizer hash must be 64 hex characters", nameof(tokenizerSha256));
        if (codebookSize is < 1 or > 65536) throw new ArgumentOutOfRangeException(nameof(codebookSize), codebookSize, "must be 1..65536");
        if ((long)labels.Length * length != tokens.Length)
            throw new ArgumentException($"{tokens.Length} tokens do not make {labels.Length} sequences of {length}");
        if (tokens.Any(t => t < 0 || t >= codebookSize))
            throw new ArgumentException($"a token is outside the codebook of {codebookSize}");
        (TokenizerSha256, Scales, CodebookSize, Tokens, Labels, Length) = (tokenizerSha256, scales.ToArray(), codebookSize, tokens, labels, length);
    }

    public string TokenizerSha256 { get; }
    public IReadOnlyList<int> Scales { get; }
    public int CodebookSize { get; }
    public int[] Tokens { get; }
    public int[] Labels { get; }
    public int Count => Labels.Length;
    /// <summary>Tokens per sequence: the sum of side*side over the scales.</summary>
    public int Length { get; }

    public TokenBatch ToBatch() => new(Tokens, Labels, Count, Length);

    public byte[] ToBytes()
    {
        int headerSize = 4 + 4 * 4 + 64 + 4 + 4 * Scales.Count;
        var bytes = new byte[headerSize + 4 * Count + 2L * Tokens.Length];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], CurrentVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], (uint)Count);
        BinaryPrimitives.WriteUInt32LittleEndian(span[12..], (uint)Length);
        BinaryPrimitives.WriteUInt32LittleEndian(span[16..], (uint)CodebookSize);
        Encoding.ASCII.GetBytes(TokenizerSha256, span[20..84]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[84..], (uint)Scales.Count);
        int at = 88;
        foreach (int scale in Scales) { BinaryPrimitives.WriteUInt32LittleEndian(span[at..], (uint)scale); at += 4; }
        foreach (int label in Labels) { BinaryPrimitives.WriteInt32LittleEndian(span[at..], label); at += 4; }
        foreach (int token in Tokens) { BinaryPrimitives.WriteUInt16LittleEndian(span[at..], (ushort)token); at += 2; }
        return bytes;
    }

    /// <summary>Parses a shard; any inconsistency is a <see cref="DataFormatException"/> naming <paramref name="path"/>.</summary>
    public static TokenShard Parse(string path, ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 88 || !bytes[..4].SequenceEqual(Magic))
            throw new DataFormatException(path, "not a token shard (bad magic number or shorter than its header)");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]);
        if (version != CurrentVersion) throw new DataFormatException(path, $"token shard version {version} is not supported (expected {CurrentVersion})");
        long count = BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]), length = BinaryPrimitives.ReadUInt32LittleEndian(bytes[12..]);
        int codebook = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes[16..]);
        string tokenizer = Encoding.ASCII.GetString(bytes[20..84]);
        long scaleCount = BinaryPrimitives.ReadUInt32LittleEndian(bytes[84..]);
        if (scaleCount is < 1 or > 64) throw new DataFormatException(path, $"implausible number of scales {scaleCount}");
        long expected = 88 + 4 * scaleCount + 4 * count + 2 * count * length;
        if (bytes.Length != expected)
            throw new DataFormatException(path, $"token shard is {bytes.Length} bytes but its header describes {expected} (truncated or corrupt)");
        var scales = new int[scaleCount];
        int at = 88;
        for (int i = 0; i < scaleCount; i++, at += 4) scales[i] = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes[at..]);
        if (scales.Sum(s => (long)s * s) != length) throw new DataFormatException(path, $"scales {string.Join(",", scales)} do not give {length} tokens");
        var labels = new int[count];
        for (int i = 0; i < count; i++, at += 4) labels[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes[at..]);
        var tokens = new int[count * length];
        for (long i = 0; i < tokens.Length; i++, at += 2) tokens[i] = BinaryPrimitives.ReadUInt16LittleEndian(bytes[at..]);
        try { return new TokenShard(tokenizer, scales, codebook, tokens, labels); }
        catch (ArgumentException e) { throw new DataFormatException(path, e.Message); }
    }
}
