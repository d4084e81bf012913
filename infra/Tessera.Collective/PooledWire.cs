using System.Buffers;
using System.Text;
using Google.Protobuf;
using Grpc.Core;

namespace Tessera.Collective.Wire;

/// <summary>A received frame's payload can live in a pooled array instead of a ByteString (see <see cref="PooledWire"/>).</summary>
public sealed partial class Frame
{
    internal byte[]? PooledPayload;
    internal int PooledLength;

    internal ReadOnlySpan<byte> Payload => PooledPayload is null ? Data.Span : PooledPayload.AsSpan(0, PooledLength);

    /// <summary>Hands the pooled payload back once it has been reduced; the frame must not be read afterwards.</summary>
    internal void ReturnPayload()
    {
        if (PooledPayload is null) return;
        ArrayPool<byte>.Shared.Return(PooledPayload);
        PooledPayload = null;
    }
}

/// <summary>
/// The same method and wire format as the generated <c>Ring.Pull</c> (so generated clients interoperate), with a
/// deserializer that puts the payload in a pooled array: the generated one allocates a new byte[] per frame,
/// a large-object-heap allocation for chunk-sized payloads, which showed up as page clearing and GC in profiles.
/// </summary>
internal static class PooledWire
{
    public static readonly Method<Hello, Frame> PullMethod = new(
        MethodType.ServerStreaming, "tessera.collective.Ring", "Pull",
        Marshallers.Create<Hello>(Serialize, context => Hello.Parser.ParseFrom(context.PayloadAsReadOnlySequence())),
        Marshallers.Create<Frame>(Serialize, DeserializeFrame));

    private static void Serialize<T>(T message, SerializationContext context) where T : IMessage<T>, IBufferMessage
    {
        context.SetPayloadLength(message.CalculateSize());
        message.WriteTo(context.GetBufferWriter());
        context.Complete();
    }

    private static Frame DeserializeFrame(DeserializationContext context)
    {
        var reader = new SequenceReader<byte>(context.PayloadAsReadOnlySequence());
        var frame = new Frame();
        while (!reader.End)
        {
            ulong tag = ReadVarint(ref reader);
            int field = (int)(tag >> 3), wireType = (int)(tag & 7);
            switch (field, wireType)
            {
                case (1, 0): frame.Op = ReadVarint(ref reader); break;
                case (2, 0): frame.Index = (uint)ReadVarint(ref reader); break;
                case (3, 2):
                    int length = ReadLength(ref reader);
                    var rented = ArrayPool<byte>.Shared.Rent(Math.Max(1, length));
                    if (!reader.TryCopyTo(rented.AsSpan(0, length))) throw new InvalidDataException("truncated frame payload");
                    reader.Advance(length);
                    frame.ReturnPayload();
                    (frame.PooledPayload, frame.PooledLength) = (rented, length);
                    break;
                case (4, 0): frame.Abort = ReadVarint(ref reader) != 0; break;
                case (5, 0): frame.MissingRank = (int)ReadVarint(ref reader); break;
                case (6, 2):
                    int textLength = ReadLength(ref reader);
                    frame.Reason = Encoding.UTF8.GetString(reader.UnreadSequence.Slice(0, textLength));
                    reader.Advance(textLength);
                    break;
                // Fields a newer peer may add: skip them as protobuf would.
                case (_, 0): ReadVarint(ref reader); break;
                case (_, 1): reader.Advance(8); break;
                case (_, 2): reader.Advance(ReadLength(ref reader)); break;
                case (_, 5): reader.Advance(4); break;
                default: throw new InvalidDataException($"unsupported wire type {wireType} for field {field}");
            }
        }
        return frame;
    }

    private static int ReadLength(ref SequenceReader<byte> reader)
    {
        ulong length = ReadVarint(ref reader);
        if (length > (ulong)reader.Remaining) throw new InvalidDataException("length beyond the end of the frame");
        return (int)length;
    }

    private static ulong ReadVarint(ref SequenceReader<byte> reader)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (!reader.TryRead(out byte b)) throw new InvalidDataException("truncated varint");
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw new InvalidDataException("varint too long");
    }
}
