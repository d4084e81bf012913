using System.Buffers.Binary;
using System.Text;

namespace Tessera.Tests.Reliability.Fuzz;

/// <summary>
/// Seeded mutations of spec text and of binary files, of the kinds real damage and hostile input take: keys deleted,
/// duplicated or retyped, characters flipped, text cut short, huge numbers and NaN, wrong nesting, stray unicode; bits
/// flipped, files truncated, length fields set to extremes, runs of zero bytes. Case i of a run always gets the same
/// mutation, so a failure names its case and can be replayed.
/// </summary>
public static class Mutations
{
    static readonly string[] OddValues =
    [
        "[1, 2]", "{a: 1}", "\"text\"", "true", "null", "~", "1e400", "-1e400", ".nan", "NaN", "-.inf", ".inf",
        "99999999999999999999999", "-1", "0", "0x10", "1_000", "2147483648", "-2147483649", "9223372036854775808",
        "1.5", "ü漢字🙂", "''", "&anchor 3", "*alias", "!!binary AAAA", "|\n  block", "- 1", "\"\\u0000\"", "\t",
        new string('9', 400), "1e-400", "+5", "0.1e1", "'3'",
    ];

    static readonly string[] OddChars = ["\0", "\t", "\r", "\u00A0", "\uFEFF", "\u202E", "é", "漢", "🙂", ":", "-", "#", "'", "\"", "{", "[", "&", "*", "!", "%", "@", "`", "|", ">", "?", " "];

    /// <summary>One to three text mutations of <paramref name="text"/>, chosen by <paramref name="random"/>.</summary>
    public static string Text(string text, Random random)
    {
        int rounds = 1 + random.Next(3);
        for (int r = 0; r < rounds; r++) text = TextOnce(text, random);
        return text;
    }

    static string TextOnce(string text, Random random)
    {
        var lines = text.Split('\n').ToList();
        int line = random.Next(lines.Count);
        switch (random.Next(10))
        {
            case 0: // delete a key (a line)
                lines.RemoveAt(line);
                break;
            case 1: // duplicate a key
                lines.Insert(line, lines[line]);
                break;
            case 2: // retype a value
            case 3:
                int colon = lines[line].IndexOf(':');
                if (colon < 0) goto case 4;
                lines[line] = lines[line][..(colon + 1)] + " " + OddValues[random.Next(OddValues.Length)];
                break;
            case 4: // flip a character
                if (text.Length == 0) return "x";
                int at = random.Next(text.Length);
                return text[..at] + OddChars[random.Next(OddChars.Length)] + text[(at + 1)..];
            case 5: // truncate
                return text[..random.Next(text.Length + 1)];
            case 6: // wrong nesting: indent or dedent a line, or indent with a tab
                lines[line] = random.Next(3) switch
                {
                    0 => "  " + lines[line],
                    1 => lines[line].TrimStart(),
                    _ => "\t" + lines[line].TrimStart(),
                };
                break;
            case 7: // a huge or non-finite number where a number is
                int digits = IndexOfDigit(lines[line]);
                if (digits < 0) goto case 2;
                lines[line] = lines[line][..digits] + (random.Next(4) switch { 0 => "1e308", 1 => ".nan", 2 => new string('9', 30), _ => "-0" });
                break;
            case 8: // swap two lines
                int other = random.Next(lines.Count);
                (lines[line], lines[other]) = (lines[other], lines[line]);
                break;
            default: // a new key at a random depth
                lines.Insert(line, new string(' ', 2 * random.Next(4)) + (random.Next(2) == 0 ? "unknown_key: 1" : "- kind: tokenizer"));
                break;
        }
        return string.Join('\n', lines);
    }

    static int IndexOfDigit(string s)
    {
        for (int i = 0; i < s.Length; i++) if (char.IsAsciiDigit(s[i])) return i;
        return -1;
    }

    /// <summary>
    /// One to three binary mutations of <paramref name="bytes"/>; <paramref name="lengthFields"/> are offsets of u32
    /// fields (counts, sizes) worth setting to extremes.
    /// </summary>
    public static byte[] Bytes(byte[] bytes, Random random, IReadOnlyList<int> lengthFields)
    {
        int rounds = 1 + random.Next(3);
        for (int r = 0; r < rounds; r++) bytes = BytesOnce(bytes, random, lengthFields);
        return bytes;
    }

    static readonly uint[] Extremes = [0, 1, 2, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFF, 0x10000, 1 << 24];

    static byte[] BytesOnce(byte[] bytes, Random random, IReadOnlyList<int> lengthFields)
    {
        var copy = bytes.ToArray();
        switch (random.Next(8))
        {
            case 0: // flip bits
            case 1:
                if (copy.Length == 0) return [1];
                for (int i = 1 + random.Next(8); i > 0; i--) copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
                return copy;
            case 2: // truncate
                return copy[..random.Next(copy.Length + 1)];
            case 3: // a length field at an extreme
            case 4:
                var fields = lengthFields.Where(f => f + 4 <= copy.Length).ToList();
                if (fields.Count == 0) goto case 0;
                int field = fields[random.Next(fields.Count)];
                uint value = random.Next(3) == 0
                    ? BinaryPrimitives.ReadUInt32LittleEndian(copy.AsSpan(field)) + (uint)(random.Next(3) - 1)
                    : Extremes[random.Next(Extremes.Length)];
                BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(field), value);
                return copy;
            case 5: // a run of zero bytes
                if (copy.Length == 0) return copy;
                int start = random.Next(copy.Length);
                Array.Clear(copy, start, Math.Min(copy.Length - start, 1 + random.Next(64)));
                return copy;
            case 6: // bytes inserted or removed in the middle
                int at = random.Next(copy.Length + 1);
                if (random.Next(2) == 0)
                {
                    var extra = new byte[1 + random.Next(16)];
                    random.NextBytes(extra);
                    return [.. copy[..at], .. extra, .. copy[at..]];
                }
                return [.. copy[..at], .. copy[Math.Min(copy.Length, at + 1 + random.Next(16))..]];
            default: // random tail, or nothing at all
                if (random.Next(4) == 0) return [];
                var tail = new byte[1 + random.Next(32)];
                random.NextBytes(tail);
                return [.. copy, .. tail];
        }
    }

    /// <summary>UTF-8 bytes of a text mutation (for JSON files), or a binary mutation of them, half and half.</summary>
    public static byte[] TextOrBytes(byte[] utf8, Random random) =>
        random.Next(2) == 0 ? Encoding.UTF8.GetBytes(Text(Encoding.UTF8.GetString(utf8), random)) : Bytes(utf8, random, []);
}
