using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

using Tessera.Trainers;

namespace Tessera.Bench.Workloads;

/// <summary>
/// REF-GPT, the fixed reference transformer of `tessera-bench step` (issue 10), built exactly to its written
/// description so its step time can be compared with the same model in another framework: vocabulary 512, 10 classes
/// plus a null class, 1 class token + 49 image tokens, width 256, 6 pre-LayerNorm blocks (8-head causal
/// self-attention, then MLP 256 -> 1024 -> 256 with GELU, both residual), learned positions, final LayerNorm,
/// bias-free head; about 5.0M parameters. Deliberately independent of <c>GptGenerator</c>: a reference workload must
/// not change when the project's own model does. Library-default initialisation (the global RNG, seeded by the caller).
/// </summary>
public sealed class RefGpt : nn.Module
{
    public const int Vocabulary = 512;
    public const int Classes = 10;
    public const int ImageTokens = 49;
    public const int Width = 256;
    public const int Layers = 6;
    public const int Heads = 8;
    public const int MlpWidth = 1024;
    /// <summary>Positions the model sees: the class token and 49 tokens.</summary>
    public const int Positions = 1 + ImageTokens;
    /// <summary>Random tokens per training example: the 49 the model sees and the one after them.</summary>
    public const int SequenceTokens = ImageTokens + 1;

    private readonly Embedding class_emb;
    private readonly Embedding tok_emb;
    private readonly Parameter pos_emb;
    private readonly ModuleList<Block> blocks;
    private readonly LayerNorm ln_f;
    private readonly Linear head;

    public RefGpt() : base(nameof(RefGpt))
    {
        class_emb = nn.Embedding(Classes + 1, Width);
        tok_emb = nn.Embedding(Vocabulary, Width);
        pos_emb = nn.Parameter(zeros(1, Positions, Width));
        blocks = nn.ModuleList(Enumerable.Range(0, Layers).Select(_ => new Block()).ToArray());
        ln_f = nn.LayerNorm(Width);
        head = nn.Linear(Width, Vocabulary, hasBias: false);
        RegisterComponents();
    }

    /// <summary>classes (B) and tokens (B, 49), int64 -> logits (B, 50, 512); row t sees positions 0..t.</summary>
    public Tensor Forward(Tensor classes_B, Tensor tokens_B49)
    {
        var x_BTD = cat(new[] { class_emb.forward(classes_B).unsqueeze(1), tok_emb.forward(tokens_B49) }, 1) + pos_emb;
        foreach (var block in blocks) x_BTD = block.Forward(x_BTD);
        return head.forward(ln_f.forward(x_BTD));
    }

    /// <summary>
    /// The objective for classes (B) and 50 random tokens (B, 50): the input is the class token and tokens
    /// 0..48; the loss is the mean cross-entropy of the 49 outputs at the image-token positions, each predicting the
    /// token after the one it sees (tokens 1..49). The class position's output is computed but not scored.
    /// </summary>
    public Tensor Loss(Tensor classes_B, Tensor tokens_B50)
    {
        var logits_BTV = Forward(classes_B, tokens_B50.narrow(1, 0, ImageTokens));
        var scored_BLV = logits_BTV.narrow(1, 1, ImageTokens);
        return nn.functional.cross_entropy(scored_BLV.reshape(-1, Vocabulary), tokens_B50.narrow(1, 1, ImageTokens).reshape(-1));
    }

    /// <summary>x + attn(LN(x)), then x + MLP(LN(x)).</summary>
    private sealed class Block : nn.Module
    {
        private readonly LayerNorm ln_1;
        private readonly Linear qkv;
        private readonly Linear out_proj;
        private readonly LayerNorm ln_2;
        private readonly Linear fc;
        private readonly Linear fc_out;

        public Block() : base(nameof(Block))
        {
            ln_1 = nn.LayerNorm(Width);
            qkv = nn.Linear(Width, 3 * Width);
            out_proj = nn.Linear(Width, Width);
            ln_2 = nn.LayerNorm(Width);
            fc = nn.Linear(Width, MlpWidth);
            fc_out = nn.Linear(MlpWidth, Width);
            RegisterComponents();
        }

        public Tensor Forward(Tensor x_BTD)
        {
            long b = x_BTD.shape[0], t = x_BTD.shape[1];
            var heads_3BHTd = qkv.forward(ln_1.forward(x_BTD)).view(b, t, 3, Heads, Width / Heads).permute(2, 0, 3, 1, 4);
            var y_BHTd = nn.functional.scaled_dot_product_attention(heads_3BHTd[0], heads_3BHTd[1], heads_3BHTd[2], is_casual: true);
            x_BTD = x_BTD + out_proj.forward(y_BHTd.transpose(1, 2).reshape(b, t, Width));
            return x_BTD + fc_out.forward(nn.functional.gelu(fc.forward(ln_2.forward(x_BTD))));
        }
    }
}
