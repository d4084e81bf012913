using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers.Tokenizers;

/// <summary>What one quantizer pass produced.</summary>
/// <param name="Quantized">Straight-through code vectors, (B, D, H, W): forward value q, gradient of z.</param>
/// <param name="Indices">Nearest code per latent position, (B, H, W), int64.</param>
/// <param name="CommitmentLoss">mean((sg[q] - z)^2), scalar; the encoder's pull towards its codes.</param>
/// <param name="RestartedCodes">Dead codes restarted on batch latents during this pass (0 unless updating).</param>
public readonly record struct QuantizerOutput(Tensor Quantized, Tensor Indices, Tensor CommitmentLoss, int RestartedCodes);

/// <summary>
/// Cosine-similarity codebook, LlamaGen-style (latents and codes L2-normalised), kept in use by EMA updates and
/// dead-code restart as in lucidrains' vector-quantize-pytorch. The EMA update replaces the codebook loss term,
/// so the codebook holds buffers only and gets no gradient.
/// </summary>
public sealed class EmaQuantizer : nn.Module
{
    private const double NormEps = 1e-6;
    private readonly int _codebookSize;
    private readonly int _codeDim;
    private readonly double _decay;
    private readonly double _deadThreshold;

    public EmaQuantizer(int codebookSize, int codeDim, double decay, double deadThreshold, Generator generator)
        : base(nameof(EmaQuantizer))
    {
        _codebookSize = codebookSize;
        _codeDim = codeDim;
        _decay = decay;
        _deadThreshold = deadThreshold;
        var embed_KD = nn.functional.normalize(randn(codebookSize, codeDim, generator: generator), 2, 1, NormEps);
        // Unit codes; counts start at zero, so the first update restarts every code nothing picked on real
        // latents: a data-driven initialisation for free.
        register_buffer("embed", embed_KD);
        register_buffer("cluster_size", zeros(codebookSize));
        register_buffer("embed_sum", embed_KD.clone());
    }

    public int CodebookSize => _codebookSize;
    public int CodeDim => _codeDim;

    /// <summary>The unit-norm codebook, (K, D).</summary>
    public Tensor Embed => get_buffer("embed")!;
    private Tensor ClusterSize => get_buffer("cluster_size")!;
    private Tensor EmbedSum => get_buffer("embed_sum")!;

    /// <summary>Quantises latents (B, D, H, W). With <paramref name="updateCodebook"/>, also runs one EMA step and
    /// restarts dead codes, drawing batch latents with <paramref name="generator"/>.</summary>
    public QuantizerOutput Quantize(Tensor z_BDHW, bool updateCodebook, Generator? generator)
    {
        var (b, d, h, w) = (z_BDHW.shape[0], z_BDHW.shape[1], z_BDHW.shape[2], z_BDHW.shape[3]);
        if (d != _codeDim) throw new ArgumentException($"latent has {d} channels, codebook dimension is {_codeDim}");
        var z_ND = nn.functional.normalize(z_BDHW.permute(0, 2, 3, 1).reshape(-1, d), 2, 1, NormEps);
        Tensor idx_N;
        using (no_grad())
        {
            idx_N = z_ND.matmul(Embed.t()).argmax(1); // (N, K) cosine similarities -> nearest code
        }
        var q_ND = Embed.index_select(0, idx_N);
        var commitment = nn.functional.mse_loss(z_ND, q_ND.detach());
        var straightThrough_ND = z_ND + (q_ND - z_ND).detach();
        var quantized_BDHW = straightThrough_ND.reshape(b, h, w, d).permute(0, 3, 1, 2);
        int restarted = 0;
        if (updateCodebook)
        {
            if (generator is null) throw new ArgumentNullException(nameof(generator), "codebook updates need a seeded generator");
            restarted = EmaUpdate(z_ND.detach(), idx_N, generator);
        }
        return new QuantizerOutput(quantized_BDHW, idx_N.reshape(b, h, w), commitment, restarted);
    }

    /// <summary>Code vectors for indices of any shape (..., ) -> (..., D).</summary>
    public Tensor Lookup(Tensor indices)
    {
        var flat = indices.reshape(-1);
        var shape = indices.shape.Append(_codeDim).ToArray();
        return Embed.index_select(0, flat).reshape(shape);
    }

    private int EmaUpdate(Tensor z_ND, Tensor idx_N, Generator generator)
    {
        using var _ = no_grad();
        var onehot_NK = nn.functional.one_hot(idx_N, _codebookSize).to(z_ND.dtype);
        var counts_K = onehot_NK.sum(dim: 0);
        var sums_KD = onehot_NK.t().matmul(z_ND); // summed as a matmul: deterministic, unlike scatter-add
        ClusterSize.mul_(_decay).add_(counts_K, 1 - _decay);
        EmbedSum.mul_(_decay).add_(sums_KD, 1 - _decay);
        Embed.copy_(nn.functional.normalize(EmbedSum, 2, 1, NormEps)); // cosine codebook: direction of the mean

        var dead_K = ClusterSize.lt(_deadThreshold);
        var deadCount = (int)dead_K.sum().item<long>();
        if (deadCount == 0) return 0;
        var deadIdx = dead_K.nonzero().reshape(-1);
        var n = z_ND.shape[0];
        // Distinct latents when the batch has enough; otherwise with replacement.
        var pick = deadCount <= n
            ? randperm(n, generator: generator)[..deadCount]
            : randint(n, new long[] { deadCount }, generator: generator);
        var sampled_ND = z_ND.index_select(0, pick.to(z_ND.device));
        Embed.index_copy_(0, deadIdx, sampled_ND);
        EmbedSum.index_copy_(0, deadIdx, sampled_ND * _deadThreshold);
        ClusterSize.index_fill_(0, deadIdx, _deadThreshold);
        return deadCount;
    }
}
