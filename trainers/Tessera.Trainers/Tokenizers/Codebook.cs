using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers.Tokenizers;

/// <summary>What one single-scale quantizer pass produced.</summary>
/// <param name="Quantized">Straight-through code vectors, (B, D, H, W): forward value q, gradient of z.</param>
/// <param name="Indices">Nearest code per latent position, (B, H, W), int64.</param>
/// <param name="CommitmentLoss">mean((sg[q] - z)^2), scalar; the encoder's pull towards its codes.</param>
/// <param name="CodebookLoss">mean((q - sg[z])^2) for codebooks learned by gradient (SimVQ), zero for EMA codebooks.</param>
/// <param name="RestartedCodes">Dead codes restarted on batch latents during this pass (0 unless updating).</param>
public readonly record struct QuantizerOutput(Tensor Quantized, Tensor Indices, Tensor CommitmentLoss, Tensor CodebookLoss, int RestartedCodes);

/// <summary>
/// A codebook of K vectors of dimension D and its nearest-code search, either cosine (LlamaGen: latents and codes
/// L2-normalised, used by the single-scale tokenizer) or Euclidean (VAR: residuals shrink scale by scale, which unit
/// codes cannot follow, so the multi-scale tokenizer compares raw vectors). Subclasses decide how codes stay in use.
/// </summary>
public abstract class Codebook : nn.Module
{
    protected const double NormEps = 1e-6;

    protected Codebook(string name, int codebookSize, int codeDim, bool cosine) : base(name)
    {
        CodebookSize = codebookSize;
        CodeDim = codeDim;
        Cosine = cosine;
    }

    public int CodebookSize { get; }
    public int CodeDim { get; }
    /// <summary>True: latents are normalised and matched by cosine; false: raw latents, squared Euclidean distance.</summary>
    public bool Cosine { get; }

    /// <summary>The effective codebook (K, D), in the space latents are compared in; differentiable for SimVQ.</summary>
    public abstract Tensor Codes();

    /// <summary>Loss that trains the codebook itself from the chosen codes; zero when updates are not by gradient.</summary>
    public abstract Tensor CodebookLoss(Tensor target_ND, Tensor chosen_ND);

    /// <summary>One non-gradient codebook step from latents and their codes (EMA); returns restarted codes.</summary>
    public abstract int Update(Tensor x_ND, Tensor idx_N, Generator generator);

    /// <summary>Latents (N, D) as compared with the codes: normalised for a cosine codebook, as they are otherwise.</summary>
    public Tensor Prepare(Tensor x_ND) => Cosine ? nn.functional.normalize(x_ND, 2, 1, NormEps) : x_ND;

    /// <summary>Index of the nearest code for each prepared latent (N, D) -> (N), int64, no gradient.</summary>
    public Tensor Nearest(Tensor x_ND, Tensor codes_KD)
    {
        using var _ = no_grad();
        if (Cosine) return x_ND.matmul(codes_KD.t()).argmax(1); // (N, K) cosine similarities
        // |x - c|^2 = |x|^2 - 2 x.c + |c|^2; |x|^2 is the same for every code and drops out of the argmin.
        var dist_NK = codes_KD.square().sum(dim: 1).unsqueeze(0) - 2 * x_ND.matmul(codes_KD.t());
        return dist_NK.argmin(1);
    }

    /// <summary>Code vectors for indices of any shape (...) -> (..., D).</summary>
    public Tensor Lookup(Tensor indices)
    {
        var shape = indices.shape.Append(CodeDim).ToArray();
        return Codes().index_select(0, indices.reshape(-1)).reshape(shape);
    }

    /// <summary>Quantises latents (B, D, H, W). With <paramref name="updateCodebook"/>, also runs one codebook step
    /// (EMA and dead-code restart), drawing batch latents with <paramref name="generator"/>.</summary>
    public QuantizerOutput Quantize(Tensor z_BDHW, bool updateCodebook, Generator? generator)
    {
        var (b, d, h, w) = (z_BDHW.shape[0], z_BDHW.shape[1], z_BDHW.shape[2], z_BDHW.shape[3]);
        if (d != CodeDim) throw new ArgumentException($"latent has {d} channels, codebook dimension is {CodeDim}");
        var z_ND = Prepare(z_BDHW.permute(0, 2, 3, 1).reshape(-1, d));
        var codes_KD = Codes();
        var idx_N = Nearest(z_ND, codes_KD);
        var q_ND = codes_KD.index_select(0, idx_N);
        var commitment = nn.functional.mse_loss(z_ND, q_ND.detach());
        var codebookLoss = CodebookLoss(z_ND.detach(), q_ND);
        // Straight-through only when gradients flow: without them q goes through as is, so the model's own
        // reconstruction and decode(encode(x)) agree bit for bit.
        var straightThrough_ND = is_grad_enabled() ? z_ND + (q_ND - z_ND).detach() : q_ND;
        var quantized_BDHW = straightThrough_ND.reshape(b, h, w, d).permute(0, 3, 1, 2);
        int restarted = 0;
        if (updateCodebook)
        {
            if (generator is null) throw new ArgumentNullException(nameof(generator), "codebook updates need a seeded generator");
            restarted = Update(z_ND.detach(), idx_N, generator);
        }
        return new QuantizerOutput(quantized_BDHW, idx_N.reshape(b, h, w), commitment, codebookLoss, restarted);
    }

    /// <summary>The codebook a config asks for: "ema" (EMA + dead-code restart) or "simvq" (frozen codes, learned map).</summary>
    public static Codebook Create(VqTokenizerConfig config, bool cosine, Generator generator) => config.Quantizer switch
    {
        VqTokenizerConfig.QuantizerEma => new EmaQuantizer(config.CodebookSize, config.CodeDim, config.EmaDecay, config.DeadCodeThreshold, cosine, generator),
        VqTokenizerConfig.QuantizerSimVq => new SimVqCodebook(config.CodebookSize, config.CodeDim, cosine, generator),
        _ => throw new ArgumentException($"unknown quantizer '{config.Quantizer}'"),
    };
}
