using static TorchSharp.torch;

namespace Tessera.Trainers.Generators;

/// <summary>
/// Keys and values of every layer for the positions decoded so far, preallocated to the full sequence so a
/// decoding step writes one slice in place instead of re-running (or re-concatenating) the whole prefix.
/// Owns its tensors: dispose it when generation ends.
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly Tensor[] _keys_BHTd;
    private readonly Tensor[] _values_BHTd;

    public KvCache(int layers, long batch, int heads, int capacity, int headDim, Device device, ScalarType dtype)
    {
        Capacity = capacity;
        _keys_BHTd = new Tensor[layers];
        _values_BHTd = new Tensor[layers];
        for (int i = 0; i < layers; i++)
        {
            _keys_BHTd[i] = zeros(new[] { batch, heads, capacity, headDim }, dtype: dtype, device: device);
            _values_BHTd[i] = zeros(new[] { batch, heads, capacity, headDim }, dtype: dtype, device: device);
        }
    }

    /// <summary>Positions written so far; the next step's position.</summary>
    public int Length { get; private set; }
    public int Capacity { get; }

    /// <summary>Writes (B, H, T, d) keys/values for layer <paramref name="layer"/> at the current position; returns all keys/values up to it.</summary>
    internal (Tensor Keys_BHSd, Tensor Values_BHSd) Append(int layer, Tensor k_BHTd, Tensor v_BHTd)
    {
        long t = k_BHTd.size(2);
        if (Length + t > Capacity) throw new InvalidOperationException($"KV cache full: {Length} + {t} > {Capacity}");
        // The cache must not record autograd history. The samplers already run without grad; entering and leaving a
        // no_grad scope per layer per step would cost more native calls than the check.
        using (var _ = is_grad_enabled() ? no_grad() : null)
        {
            _keys_BHTd[layer].narrow(2, Length, t).copy_(k_BHTd);
            _values_BHTd[layer].narrow(2, Length, t).copy_(v_BHTd);
        }
        return (_keys_BHTd[layer].narrow(2, 0, Length + t), _values_BHTd[layer].narrow(2, 0, Length + t));
    }

    /// <summary>Called by the model once every layer has appended this step's <paramref name="t"/> positions.</summary>
    internal void Advance(int t) => Length += t;

    public void Dispose()
    {
        foreach (var t in _keys_BHTd) t.Dispose();
        foreach (var t in _values_BHTd) t.Dispose();
    }
}
