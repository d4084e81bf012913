using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tessera.Trainers.Generators;

/// <summary>
/// Pre-norm transformer block (GPT-2 / nanoGPT): x + attn(LN(x)), then x + MLP(LN(x)) with GELU.
/// LayerNorm/GELU rather than LlamaGen's RMSNorm/SwiGLU: at this size the difference is noise, and the
/// built-in modules keep the file short.
/// </summary>
public sealed class GptBlock : nn.Module
{
    private readonly LayerNorm ln_1;
    private readonly CausalSelfAttention attn;
    private readonly LayerNorm ln_2;
    private readonly Sequential mlp;

    public GptBlock(int dim, int heads, int mlpRatio, double dropout) : base(nameof(GptBlock))
    {
        ln_1 = nn.LayerNorm(dim);
        attn = new CausalSelfAttention(dim, heads, dropout);
        ln_2 = nn.LayerNorm(dim);
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>
        {
            ("fc", nn.Linear(dim, mlpRatio * dim)),
            ("gelu", nn.GELU()),
            ("proj", nn.Linear(mlpRatio * dim, dim)),
        };
        // Only when it drops anything: a Dropout module costs two native calls per pass even at p = 0 (it holds no
        // parameters, so checkpoints are the same either way).
        if (dropout > 0) layers.Add(("drop", nn.Dropout(dropout)));
        mlp = nn.Sequential(layers);
        RegisterComponents();
    }

    /// <summary>(B, T, D) -> (B, T, D).</summary>
    public Tensor Forward(Tensor x_BTD, KvCache? cache, int layer)
    {
        x_BTD = x_BTD + attn.Forward(ln_1.forward(x_BTD), cache, layer);
        return x_BTD + mlp.forward(ln_2.forward(x_BTD));
    }
}
