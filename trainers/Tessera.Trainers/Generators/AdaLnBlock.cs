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

    public AdaLnBlock(int dim, int heads, int mlpRatio, double dropout) : base(nameof(AdaLnBlock))
    {
        _heads = heads;
        ln_1 = nn.LayerNorm(dim, elementwise_affine: false);
        qkv = nn.Linear(dim, 3 * dim);
        proj = nn.Linear(dim, dim);
        ln_2 = nn.LayerNorm(dim, elementwise_affine: false);
        mlp = nn.Sequential(("fc", nn.Linear(dim, mlpRatio * dim)), ("gelu", nn.GELU()), ("proj", nn.Linear(mlpRatio * dim, dim)));
        ada = nn.Linear(dim, 6 * dim);
        drop = nn.Dropout(dropout);
        RegisterComponents();
    }

    /// <summary>x (B, L, D), condition (B, D), additive mask (L, L) of 0 / -inf -> (B, L, D).</summary>
    public Tensor Forward(Tensor x_BLD, Tensor cond_BD, Tensor mask_LL)
    {
        long b = x_BLD.shape[0], l = x_BLD.shape[1], d = x_BLD.shape[2];
        var mods = ada.forward(nn.functional.silu(cond_BD)).unsqueeze(1).chunk(6, -1); // 6 x (B, 1, D)
        Tensor gate1 = mods[0], scale1 = mods[1], shift1 = mods[2], gate2 = mods[3], scale2 = mods[4], shift2 = mods[5];

        var h_BLD = ln_1.forward(x_BLD) * (scale1 + 1) + shift1;
        var parts = qkv.forward(h_BLD).view(b, l, 3, _heads, d / _heads).permute(2, 0, 3, 1, 4); // (3, B, H, L, hd)
        var y_BHLd = nn.functional.scaled_dot_product_attention(parts[0], parts[1], parts[2], attn_mask: mask_LL);
        x_BLD = x_BLD + gate1 * drop.forward(proj.forward(y_BHLd.transpose(1, 2).reshape(b, l, d)));

        h_BLD = ln_2.forward(x_BLD) * (scale2 + 1) + shift2;
        return x_BLD + gate2 * drop.forward(mlp.forward(h_BLD));
    }
}
