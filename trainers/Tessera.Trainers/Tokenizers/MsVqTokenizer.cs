using TorchSharp;
using TorchSharp.Modules;
using Tessera.Trainers.Generators;
using static TorchSharp.torch;

namespace Tessera.Trainers.Tokenizers;

/// <summary>
/// VAR-style multi-scale residual VQ tokenizer: the same conv encoder and decoder as <see cref="VqTokenizer"/>,
/// with a <see cref="MultiScaleQuantizer"/> (Euclidean codebook shared by all scales) in between. Tokens are every
/// scale's indices concatenated coarse to fine (1+4+9+16+36+64 = 130 for an 8x8 grid's default schedule 1,2,3,4,6,8).
/// </summary>
public sealed class MsVqTokenizer : TokenizerModel
{
    private readonly Sequential encoder;
    private readonly Conv2d quant_conv;
    private readonly MultiScaleQuantizer quantizer;
    private readonly Conv2d post_quant_conv;
    private readonly Sequential decoder;

    public MsVqTokenizer(VqTokenizerConfig config, Generator generator) : base(nameof(MsVqTokenizer), config)
    {
        if (config.Kind != VqTokenizerConfig.KindMsVq) throw new ArgumentException($"config kind is '{config.Kind}', not '{VqTokenizerConfig.KindMsVq}'");
        encoder = ConvStacks.Encoder(config);
        quant_conv = nn.Conv2d(config.LatentChannels, config.CodeDim, 1);      // (B, D, h, w)
        quantizer = new MultiScaleQuantizer(Codebook.Create(config, cosine: false, generator), config.ScaleList(),
            config.PhiConvs, config.PhiResidualRatio, config.CommitmentWeight);
        post_quant_conv = nn.Conv2d(config.CodeDim, config.LatentChannels, 1); // (B, lat, h, w)
        decoder = ConvStacks.Decoder(config);
        RegisterComponents();
        ConvStacks.ResetParameters(this, generator, skipPrefix: "quantizer.quantizer.");
    }

    public override string Kind => VqTokenizerConfig.KindMsVq;
    public override Codebook Quantizer => quantizer.Codebook;
    public MultiScaleQuantizer MultiScale => quantizer;
    private long LatentSide => Scales[^1];

    public override TokenizerForward Forward(Tensor images_BCHW, bool updateCodebook, Generator? generator)
    {
        var f_BDhw = quant_conv.forward(encoder.forward(images_BCHW));
        var q = quantizer.Forward(f_BDhw, updateCodebook, generator);
        var recon_BCHW = decoder.forward(post_quant_conv.forward(q.FHat));
        return new TokenizerForward(recon_BCHW, q.Indices, q.Loss, q.RestartedCodes);
    }

    /// <summary>Images (B, C, H, W) in [0, 1] -> tokens (B, L), int64. No gradient, codebook untouched.</summary>
    public override Tensor Encode(Tensor images_BCHW)
    {
        using var _ = no_grad();
        return quantizer.Forward(quant_conv.forward(encoder.forward(images_BCHW)), false, null).Indices;
    }

    /// <summary>Tokens (B, L) -> images (B, C, H, W) in [0, 1]. No gradient.</summary>
    public override Tensor Decode(Tensor tokens_BL)
    {
        using var _ = no_grad();
        SplitScales(tokens_BL); // validates the length
        return DecodeLatent(quantizer.CumulativeFHat(tokens_BL, LatentSide)[^1]);
    }

    /// <summary>Reconstructions (in [0, 1]) from tokens (B, L) using scales 1..k, for every k: (K, B, C, H, W).</summary>
    public Tensor DecodeCoarseToFine(Tensor tokens_BL)
    {
        using var _ = no_grad();
        SplitScales(tokens_BL);
        return stack(quantizer.CumulativeFHat(tokens_BL, LatentSide).Select(DecodeLatent).ToArray(), 0);
    }

    /// <summary>Next-scale teacher-forcing inputs for tokens (B, L): (B, L - s1*s1, D); see <see cref="MultiScaleQuantizer.TeacherForcingInputs"/>.</summary>
    public Tensor TeacherForcingInputs(Tensor tokens_BL)
    {
        using var _ = no_grad();
        SplitScales(tokens_BL);
        return quantizer.TeacherForcingInputs(tokens_BL, LatentSide);
    }

    public override IScaleInputs ScaleInputs => new MsVqScaleInputs(this);

    /// <summary>
    /// Generation: tokens of the first k scales (B, sum of side^2 up to k) -> the input of scale k+1,
    /// (B, side_{k+1}^2, D): f_hat so far, area-downsampled to that scale and flattened row-major.
    /// </summary>
    public Tensor NextScaleInput(Tensor tokensSoFar_BLk)
    {
        using var _ = no_grad();
        int k = Enumerable.Range(1, Scales.Count - 1).FirstOrDefault(n => Scales.Take(n).Sum(s => (long)s * s) == tokensSoFar_BLk.shape[1]);
        if (tokensSoFar_BLk.dim() != 2 || k == 0)
            throw new ArgumentException($"{tokensSoFar_BLk.shape[^1]} tokens are not the tokens of the first scales of {string.Join(",", Scales)} (without the last)");
        var fHats = quantizer.CumulativeFHat(tokensSoFar_BLk, LatentSide);
        return ScaleInput(fHats[^1], Scales[k]);
    }

    /// <summary>f_hat so far (B, D, latent, latent), area-downsampled to <paramref name="side"/> and flattened: (B, side^2, D).</summary>
    private Tensor ScaleInput(Tensor fHat_BDhw, int side)
    {
        var down_BDss = MultiScaleQuantizer.Resize(fHat_BDhw, side, InterpolationMode.Area);
        return down_BDss.reshape(down_BDss.shape[0], Config.CodeDim, -1).transpose(1, 2);
    }

    /// <summary>Generation that keeps f_hat between scales, so scale k+1's input adds one scale instead of rebuilding k.</summary>
    public IScaleInputCursor StartGeneration() => new GenerationCursor(this);

    private sealed class GenerationCursor(MsVqTokenizer tokenizer) : IScaleInputCursor
    {
        private Tensor? _fHat_BDhw;   // f_hat of the scales seen so far; owned here, outside any dispose scope
        private int _scales;          // how many
        private long _tokens;         // their token count

        public Tensor Next(Tensor tokensSoFar_BLk)
        {
            using var _ = no_grad();
            var scales = tokenizer.Scales;
            if (_scales + 1 >= scales.Count || tokensSoFar_BLk.dim() != 2 || tokensSoFar_BLk.shape[1] != _tokens + (long)scales[_scales] * scales[_scales])
                throw new ArgumentException($"{tokensSoFar_BLk.shape[^1]} tokens are not the tokens of scale {_scales + 1} of {string.Join(",", scales)} after the {_scales} before it");
            long side = scales[_scales];
            var fHat = _fHat_BDhw ?? zeros(tokensSoFar_BLk.shape[0], tokenizer.Config.CodeDim, tokenizer.LatentSide, tokenizer.LatentSide,
                device: tokensSoFar_BLk.device);
            var next = tokenizer.quantizer.AddScale(fHat, tokensSoFar_BLk.narrow(1, _tokens, side * side), _scales, tokenizer.LatentSide);
            _fHat_BDhw?.Dispose();
            _fHat_BDhw = next.DetachFromDisposeScope();
            _tokens += side * side;
            _scales++;
            return tokenizer.ScaleInput(_fHat_BDhw, scales[_scales]);
        }

        public void Dispose() => _fHat_BDhw?.Dispose();
    }

    private Tensor DecodeLatent(Tensor fHat_BDhw) => decoder.forward(post_quant_conv.forward(fHat_BDhw)).clamp_(0, 1);
}
