using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Tessera.Collective;

/// <summary>
/// fp32 &lt;-&gt; wire conversions and the reduction kernels. Everything works on spans so the caller's
/// buffer (a CPU tensor's memory) is read and written in place.
/// </summary>
internal static class WireCodec
{
    public static int BytesPerElement(WireCompression c) => c == WireCompression.None ? sizeof(float) : sizeof(ushort);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot loops: skip tier-0 code, which is several times slower
    public static void Encode(ReadOnlySpan<float> source, Span<byte> destination, WireCompression c)
    {
        var halves = MemoryMarshal.Cast<byte, ushort>(destination);
        if (c == WireCompression.BFloat16)
            for (int i = 0; i < source.Length; i++) halves[i] = ToBFloat16(source[i]);
        else
            for (int i = 0; i < source.Length; i++) halves[i] = BitConverter.HalfToUInt16Bits((Half)source[i]);
    }

    /// <summary>destination += decode(data).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot loops: skip tier-0 code, which is several times slower
    public static void Accumulate(ReadOnlySpan<byte> data, Span<float> destination, WireCompression c)
    {
        if (c == WireCompression.None) { AddInPlace(destination, MemoryMarshal.Cast<byte, float>(data)); return; }
        var halves = MemoryMarshal.Cast<byte, ushort>(data);
        for (int i = 0; i < destination.Length; i++) destination[i] += Decode(halves[i], c);
    }

    /// <summary>destination = decode(data).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot loops: skip tier-0 code, which is several times slower
    public static void CopyTo(ReadOnlySpan<byte> data, Span<float> destination, WireCompression c)
    {
        if (c == WireCompression.None) { MemoryMarshal.Cast<byte, float>(data).CopyTo(destination); return; }
        var halves = MemoryMarshal.Cast<byte, ushort>(data);
        for (int i = 0; i < destination.Length; i++) destination[i] = Decode(halves[i], c);
    }

    /// <summary>
    /// Rounds to what the wire can carry. The owner of a reduced segment does this before the all-gather so that
    /// it ends with exactly the values the other ranks decode: all ranks must hold identical weights.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot loops: skip tier-0 code, which is several times slower
    public static void Quantize(Span<float> values, WireCompression c)
    {
        if (c == WireCompression.None) return;
        for (int i = 0; i < values.Length; i++)
            values[i] = c == WireCompression.BFloat16 ? FromBFloat16(ToBFloat16(values[i])) : (float)(Half)values[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot loops: skip tier-0 code, which is several times slower
    public static void Scale(Span<float> values, float factor)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var slot = values.Slice(i, Vector<float>.Count);
                (new Vector<float>(slot) * factor).CopyTo(slot);
            }
        for (; i < values.Length; i++) values[i] *= factor;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot loops: skip tier-0 code, which is several times slower
    public static void AddInPlace(Span<float> destination, ReadOnlySpan<float> addend)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= destination.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var slot = destination.Slice(i, Vector<float>.Count);
                (new Vector<float>(slot) + new Vector<float>(addend.Slice(i, Vector<float>.Count))).CopyTo(slot);
            }
        for (; i < destination.Length; i++) destination[i] += addend[i];
    }

    // Round to nearest even on the 16 bits dropped; NaN stays NaN (a quiet one) instead of rounding into infinity.
    public static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000) return (ushort)((bits >> 16) | 0x0040);
        bits += 0x7FFF + ((bits >> 16) & 1);
        return (ushort)(bits >> 16);
    }

    public static float FromBFloat16(ushort value) => BitConverter.UInt32BitsToSingle((uint)value << 16);

    private static float Decode(ushort value, WireCompression c) =>
        c == WireCompression.BFloat16 ? FromBFloat16(value) : (float)BitConverter.UInt16BitsToHalf(value);
}

/// <summary>
/// Lets protobuf see a float buffer as bytes without copying (for UnsafeByteOperations.UnsafeWrap): the frame is
/// serialized during WriteAsync, and the ring never writes into a chunk while it is being sent.
/// </summary>
internal sealed class FloatBytesMemory(Memory<float> floats) : MemoryManager<byte>
{
    private MemoryHandle _pin;

    public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(floats.Span);

    public override unsafe MemoryHandle Pin(int elementIndex = 0)
    {
        _pin = floats.Pin();
        return new MemoryHandle((byte*)_pin.Pointer + elementIndex, default, this);
    }

    public override void Unpin() => _pin.Dispose();

    protected override void Dispose(bool disposing) { }
}
