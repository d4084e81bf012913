using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tessera.Trainers.Generators;

/// <summary>
/// Multi-head self-attention, causal within the chunk it is given. With a <see cref="KvCache"/>, the chunk's
/// keys and values are appended to those of earlier positions, so decoding one position costs O(N).
/// </summary>
public sealed class CausalSelfAttention : nn.Module
{
    private readonly Linear qkv;
    private readonly Linear proj;
    private readonly Dropout resid_drop;
    private readonly int _heads;
    private readonly int _dim;
    private readonly double _dropout;

    public CausalSelfAttention(int dim, int heads, double dropout) : base(nameof(CausalSelfAttention))
    {
        _heads = heads;
        _dim = dim;
        _dropout = dropout;
        qkv = nn.Linear(dim, 3 * dim);
        proj = nn.Linear(dim, dim);
        resid_drop = nn.Dropout(dropout);
        RegisterComponents();
    }

    /// <summary>(B, T, D) -> (B, T, D). With a cache, the chunk must either start the sequence or be a single position.</summary>
    public Tensor Forward(Tensor x_BTD, KvCache? cache, int layer)
    {
        // Every shape read, view and index is a native call and a tensor handle; decoding one position per step at
        // small batch is made of little else, so each is taken once (shape) or in one call (unbind).
        var shape = x_BTD.shape;
        long b = shape[0], t = shape[1];
        int hd = _dim / _heads;
        var parts = qkv.forward(x_BTD).view(b, t, 3, _heads, hd).permute(2, 0, 3, 1, 4).unbind(0); // 3 x (B, H, T, hd)
        Tensor q_BHTd = parts[0], k_BHTd = parts[1], v_BHTd = parts[2];
        if (cache is not null)
        {
            if (cache.Length > 0 && t > 1)
                throw new InvalidOperationException("a cached chunk after the first must be a single position");
            (k_BHTd, v_BHTd) = cache.Append(layer, k_BHTd, v_BHTd);
        }
        // A single query attends to every cached key (all are in its past); a chunk from position 0 is plain causal.
        var y_BHTd = nn.functional.scaled_dot_product_attention(q_BHTd, k_BHTd, v_BHTd, is_casual: t > 1); // TorchSharp spells the flag is_casual
        var y_BTD = proj.forward(y_BHTd.transpose(1, 2).reshape(b, t, _dim));
        return _dropout > 0 ? resid_drop.forward(y_BTD) : y_BTD; // a Dropout module costs two native calls even at p = 0
    }
}
