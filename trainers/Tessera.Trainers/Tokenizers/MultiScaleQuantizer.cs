using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tessera.Trainers.Tokenizers;

/// <summary>What one multi-scale quantizer pass produced.</summary>
/// <param name="FHat">Quantized latent (B, D, h, w); straight-through (value f_hat, gradient of f) when grad is on.</param>
/// <param name="Indices">Tokens (B, L), every scale row-major, coarse to fine.</param>
/// <param name="Loss">Mean over scales of beta * mse(sg[f_hat], f) + mse(f_hat, sg[f]).</param>
/// <param name="RestartedCodes">Dead codes restarted during this pass.</param>
public readonly record struct MultiScaleOutput(Tensor FHat, Tensor Indices, Tensor Loss, int RestartedCodes);

/// <summary>
/// VAR's multi-scale residual quantizer (FoundationVision/VAR models/quant.py): one shared codebook; at each scale
/// the remaining residual is area-downsampled, quantized, upsampled (bicubic), refined by a phi conv and added to
/// f_hat. Phi convs are partially shared: scale k of K uses the conv whose tick is nearest k/(K-1).
/// </summary>
public sealed class MultiScaleQuantizer : nn.Module
{
    private readonly Codebook quantizer;
    private readonly ModuleList<Conv2d> phi;
    private readonly int[] _scales;
    private readonly double _beta;
    private readonly double _ratio;

    public MultiScaleQuantizer(Codebook codebook, IReadOnlyList<int> scales, int phiConvs, double phiResidualRatio, double beta)
        : base(nameof(MultiScaleQuantizer))
    {
        quantizer = codebook;
        _scales = scales.ToArray();
        _beta = beta;
        _ratio = phiResidualRatio;
        phi = new ModuleList<Conv2d>(Enumerable.Range(0, phiConvs)
            .Select(_ => nn.Conv2d(codebook.CodeDim, codebook.CodeDim, 3, padding: 1)).ToArray());
        RegisterComponents();
    }

    public Codebook Codebook => quantizer;
    public IReadOnlyList<int> Scales => _scales;
    /// <summary>The phi convs (VAR's quant_resi), for tests and inspection.</summary>
    public IReadOnlyList<Conv2d> Phi => phi.ToList();

    /// <summary>Which phi conv scale <paramref name="si"/> uses: ticks evenly inside (0, 1), nearest to si/(K-1).</summary>
    public int PhiIndex(int si)
    {
        int n = phi.Count, k = _scales.Length;
        double at = k == 1 ? 0 : si / (double)(k - 1);
        int best = 0;
        double bestGap = double.MaxValue;
        for (int i = 0; i < n; i++)
        {
            double tick = n == 1 ? 0.5 : 1.0 / (3 * n) + i * (1 - 2.0 / (3 * n)) / (n - 1);
            double gap = Math.Abs(tick - at);
            if (gap < bestGap) { best = i; bestGap = gap; }
        }
        return best;
    }

    /// <summary>Quantizes f (B, D, h, w) scale by scale; with <paramref name="updateCodebook"/>, one EMA step on all scales' residuals.</summary>
    public MultiScaleOutput Forward(Tensor f_BDhw, bool updateCodebook, Generator? generator)
    {
        var (b, d) = (f_BDhw.shape[0], f_BDhw.shape[1]);
        var f_nograd = f_BDhw.detach();
        var f_rest = f_nograd;
        var f_hat = zeros_like(f_nograd);
        Tensor? loss = null;
        var codes_KD = quantizer.Codes();
        var idx = new List<Tensor>();
        var rests = new List<Tensor>();
        for (int si = 0; si < _scales.Length; si++)
        {
            var rest_ND = quantizer.Prepare(Resize(f_rest, _scales[si], InterpolationMode.Area).permute(0, 2, 3, 1).reshape(-1, d));
            var idx_N = quantizer.Nearest(rest_ND, codes_KD);
            idx.Add(idx_N.reshape(b, -1));
            rests.Add(rest_ND);
            var h_BDhw = ScaleContribution(codes_KD, idx_N, b, si, f_nograd.shape[2]);
            f_hat = f_hat + h_BDhw;
            f_rest = f_rest - h_BDhw.detach();
            var term = _beta * nn.functional.mse_loss(f_hat.detach(), f_BDhw) + nn.functional.mse_loss(f_hat, f_nograd);
            loss = loss is null ? term : loss + term;
        }
        int restarted = 0;
        if (updateCodebook)
        {
            if (generator is null) throw new ArgumentNullException(nameof(generator), "codebook updates need a seeded generator");
            using var _ = no_grad();
            restarted = quantizer.Update(cat(rests, 0), CatIndices(idx), generator);
        }
        // Straight-through: the decoder sees f_hat, the encoder gets the decoder's gradient unchanged. Without grad
        // f_hat goes through as is, so decode(encode(x)) matches the reconstruction bit for bit.
        var out_BDhw = is_grad_enabled() ? (f_hat.detach() - f_nograd) + f_BDhw : f_hat;
        return new MultiScaleOutput(out_BDhw, cat(idx, 1), loss! / _scales.Length, restarted);
    }

    private static Tensor CatIndices(List<Tensor> idx) => cat(idx.Select(t => t.reshape(-1)).ToList(), 0);

    /// <summary>
    /// f_hat after each scale, from tokens (B, L): element k is the sum of the first k+1 contributions. Tokens of
    /// only the first scales (a prefix, as during generation) give only those scales' f_hat.
    /// </summary>
    public Tensor[] CumulativeFHat(Tensor tokens_BL, long latentSide)
    {
        var b = tokens_BL.shape[0];
        var codes_KD = quantizer.Codes();
        var f_hat = zeros(b, quantizer.CodeDim, latentSide, latentSide, dtype: codes_KD.dtype, device: codes_KD.device);
        int count = 0;
        for (long covered = 0; count < _scales.Length && covered < tokens_BL.shape[1]; count++) covered += (long)_scales[count] * _scales[count];
        var result = new Tensor[count];
        long offset = 0;
        for (int si = 0; si < count; si++)
        {
            long n = (long)_scales[si] * _scales[si];
            var idx_N = tokens_BL[.., (int)offset..(int)(offset + n)].reshape(-1);
            offset += n;
            f_hat = f_hat + ScaleContribution(codes_KD, idx_N, b, si, latentSide);
            result[si] = f_hat;
        }
        return result;
    }

    /// <summary>
    /// f_hat (B, D, latent, latent) plus scale <paramref name="scaleIndex"/>'s contribution, from that scale's tokens
    /// (B, side^2): one step of <see cref="CumulativeFHat"/>, for generation that keeps f_hat between scales.
    /// </summary>
    public Tensor AddScale(Tensor fHat_BDhw, Tensor scaleTokens_BS, int scaleIndex, long latentSide) =>
        fHat_BDhw + ScaleContribution(quantizer.Codes(), scaleTokens_BS.reshape(-1), scaleTokens_BS.shape[0], scaleIndex, latentSide);

    /// <summary>
    /// Teacher-forcing inputs for next-scale prediction (VAR's idxBl_to_var_input): for scales 2..K, the f_hat built
    /// from all coarser scales, area-downsampled to that scale and flattened: (B, L - s1*s1, D).
    /// </summary>
    public Tensor TeacherForcingInputs(Tensor tokens_BL, long latentSide)
    {
        var fHats = CumulativeFHat(tokens_BL, latentSide);
        var d = quantizer.CodeDim;
        var next = new List<Tensor>();
        for (int si = 0; si + 1 < _scales.Length; si++)
        {
            var down_BDss = Resize(fHats[si], _scales[si + 1], InterpolationMode.Area);
            next.Add(down_BDss.reshape(tokens_BL.shape[0], d, -1).transpose(1, 2)); // (B, s*s, D)
        }
        if (next.Count == 0) return zeros(tokens_BL.shape[0], 0, d);
        return cat(next, 1);
    }

    /// <summary>phi(upsample(emb(idx))) for one scale: (B, D, side, side).</summary>
    private Tensor ScaleContribution(Tensor codes_KD, Tensor idx_N, long b, int si, long side)
    {
        int s = _scales[si];
        var emb_BDss = codes_KD.index_select(0, idx_N).reshape(b, s, s, -1).permute(0, 3, 1, 2);
        var h_BDhw = Resize(emb_BDss, side, InterpolationMode.Bicubic);
        var conv = phi[PhiIndex(si)];
        return h_BDhw * (1 - _ratio) + conv.forward(h_BDhw) * _ratio;
    }

    /// <summary>Resizes (B, D, h, w) to side x side; a no-op (the same tensor) when the size already matches.</summary>
    public static Tensor Resize(Tensor x_BDhw, long side, InterpolationMode mode)
    {
        if (x_BDhw.shape[2] == side && x_BDhw.shape[3] == side) return x_BDhw;
        return mode == InterpolationMode.Bicubic
            ? nn.functional.interpolate(x_BDhw, new[] { side, side }, mode: mode, align_corners: false)
            : nn.functional.interpolate(x_BDhw, new[] { side, side }, mode: mode);
    }
}
