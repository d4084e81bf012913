using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tessera.Trainers.Generators;

/// <summary>
/// VAR's block: pre-norm attention and MLP whose LayerNorms have no affine weights of their own; instead the
/// condition vector (B, D) produces a scale, shift and residual gate for each (adaptive layer norm). Attention
/// takes an explicit additive mask, because VAR's is block-causal rather than causal.
/// </summary>
public sealed class AdaLnBlock : nn.Module
{
    private readonly LayerNorm ln_1;
    private readonly Linear qkv;
    private readonly Linear proj;
    private readonly LayerNorm ln_2;
    private readonly Sequential mlp;
    private readonly Linear ada;
    private readonly Dropout drop;
    private readonly int _heads;
    private readonly double _dropout;

    /// <summary>addcmul's multiplier, made once: a Scalar is a native object, and converting 1 to one per call would cost one.</summary>
    internal static readonly Scalar One = 1;

    public AdaLnBlock(int dim, int heads, int mlpRatio, double dropout) : base(nameof(AdaLnBlock))
    {
        _heads = heads;
        _dropout = dropout;
        ln_1 = nn.LayerNorm(dim, elementwise_affine: false);
        qkv = nn.Linear(dim, 3 * dim);
        proj = nn.Linear(dim, dim);
        ln_2 = nn.LayerNorm(dim, elementwise_affine: false);
        mlp = nn.Sequential(("fc", nn.Linear(dim, mlpRatio * dim)), ("gelu", nn.GELU()), ("proj", nn.Linear(mlpRatio * dim, dim)));
        ada = nn.Linear(dim, 6 * dim);
        drop = nn.Dropout(dropout);
        RegisterComponents();
    }

    /// <summary>
    /// The condition's scale, shift and gate for both halves of the block, each (B, 1, D): gate1, 1 + scale1, shift1,
    /// gate2, 1 + scale2, shift2. They depend on the class alone, so a sampler computes them once per generation
    /// rather than once per scale. <paramref name="siluCond_BD"/> is silu(condition).
    /// </summary>
    public Tensor[] Modulation(Tensor siluCond_BD)
    {
        var mods = ada.forward(siluCond_BD).unsqueeze(1).chunk(6, -1); // 6 x (B, 1, D)
        return [mods[0], mods[1] + 1, mods[2], mods[3], mods[4] + 1, mods[5]];
    }

    /// <summary>
    /// x (B, L, D), the condition's <see cref="Modulation"/>, additive mask (L, L) of 0 / -inf -> (B, L, D). With a
    /// <paramref name="cache"/>, x is one whole scale: its keys and values join those of the coarser scales, and no mask
    /// is needed, since every query of a scale sees every key of that scale and of the scales before it.
    /// </summary>
    public Tensor Forward(Tensor x_BLD, Tensor[] modulation, Tensor? mask_LL, KvCache? cache = null, int layer = 0)
    {
        var shape = x_BLD.shape;
        long b = shape[0], l = shape[1], d = shape[2];
        Tensor gate1 = modulation[0], scale1 = modulation[1], shift1 = modulation[2], gate2 = modulation[3], scale2 = modulation[4], shift2 = modulation[5];

        // addcmul (a + b * c) does in one native call what two would do; sampling at small batch is made of little else.
        var h_BLD = addcmul(shift1, ln_1.forward(x_BLD), scale1, One);
        var parts = qkv.forward(h_BLD).view(b, l, 3, _heads, d / _heads).permute(2, 0, 3, 1, 4).unbind(0); // 3 x (B, H, L, hd)
        Tensor q_BHLd = parts[0], k_BHSd = parts[1], v_BHSd = parts[2];
        if (cache is not null) (k_BHSd, v_BHSd) = cache.Append(layer, k_BHSd, v_BHSd);
        var y_BHLd = nn.functional.scaled_dot_product_attention(q_BHLd, k_BHSd, v_BHSd, attn_mask: cache is null ? mask_LL : null);
        x_BLD = addcmul(x_BLD, gate1, Drop(proj.forward(y_BHLd.transpose(1, 2).reshape(b, l, d))), One);

        h_BLD = addcmul(shift2, ln_2.forward(x_BLD), scale2, One);
        return addcmul(x_BLD, gate2, Drop(mlp.forward(h_BLD)), One);
    }

    private Tensor Drop(Tensor x) => _dropout > 0 ? drop.forward(x) : x; // a Dropout module costs two native calls even at p = 0
}
