using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers.Tokenizers;

/// <summary>
/// Codebook kept in use by EMA updates and dead-code restart, as in lucidrains' vector-quantize-pytorch. The EMA
/// update replaces the codebook loss term, so the codebook holds buffers only and gets no gradient. A cosine
/// codebook keeps the direction of each code's running mean; a Euclidean one keeps the mean itself.
/// </summary>
public sealed class EmaQuantizer : Codebook
{
    private readonly double _decay;
    private readonly double _deadThreshold;

    public EmaQuantizer(int codebookSize, int codeDim, double decay, double deadThreshold, bool cosine, Generator generator)
        : base(nameof(EmaQuantizer), codebookSize, codeDim, cosine)
    {
        _decay = decay;
        _deadThreshold = deadThreshold;
        var embed_KD = nn.functional.normalize(randn(codebookSize, codeDim, generator: generator), 2, 1, NormEps);
        // Counts start at zero, so the first update restarts every code nothing picked on real latents: a
        // data-driven initialisation for free.
        register_buffer("embed", embed_KD);
        register_buffer("cluster_size", zeros(codebookSize));
        register_buffer("embed_sum", embed_KD.clone());
    }

    /// <summary>The codebook, (K, D); unit-norm rows for a cosine codebook.</summary>
    public Tensor Embed => get_buffer("embed")!;
    /// <summary>EMA of how many latents each code received per update, (K); below the threshold a code is dead.</summary>
    public Tensor ClusterSize => get_buffer("cluster_size")!;
    private Tensor EmbedSum => get_buffer("embed_sum")!;

    public override Tensor Codes() => Embed;

    public override Tensor CodebookLoss(Tensor target_ND, Tensor chosen_ND) => zeros(1, dtype: chosen_ND.dtype, device: chosen_ND.device).squeeze();

    public override int Update(Tensor x_ND, Tensor idx_N, Generator generator)
    {
        using var _ = no_grad();
        var onehot_NK = nn.functional.one_hot(idx_N, CodebookSize).to(x_ND.dtype);
        var counts_K = onehot_NK.sum(dim: 0);
        var sums_KD = onehot_NK.t().matmul(x_ND); // summed as a matmul: deterministic, unlike scatter-add
        ClusterSize.mul_(_decay).add_(counts_K, 1 - _decay);
        EmbedSum.mul_(_decay).add_(sums_KD, 1 - _decay);
        if (Cosine) Embed.copy_(nn.functional.normalize(EmbedSum, 2, 1, NormEps)); // direction of the mean
        else Embed.copy_(EmbedSum / ClusterSize.clamp_min(1e-5).unsqueeze(1)); // the mean; dead codes replaced below

        var dead_K = ClusterSize.lt(_deadThreshold);
        var deadCount = (int)dead_K.sum().item<long>();
        if (deadCount == 0) return 0;
        var deadIdx = dead_K.nonzero().reshape(-1);
        var n = x_ND.shape[0];
        // Distinct latents when the batch has enough; otherwise with replacement.
        var pick = deadCount <= n
            ? randperm(n, generator: generator)[..deadCount]
            : randint(n, new long[] { deadCount }, generator: generator);
        var sampled_ND = x_ND.index_select(0, pick.to(x_ND.device));
        Embed.index_copy_(0, deadIdx, sampled_ND);
        EmbedSum.index_copy_(0, deadIdx, sampled_ND * _deadThreshold);
        ClusterSize.index_fill_(0, deadIdx, _deadThreshold);
        return deadCount;
    }
}
