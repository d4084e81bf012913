using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tessera.Trainers.Tokenizers;

/// <summary>
/// LlamaGen-style single-scale VQ image tokenizer: conv encoder down by the config's downsample (4, 8 or 16) to the
/// token grid, 1x1 conv to a small code dimension, nearest-code lookup (cosine for EMA, Euclidean for SimVQ) with
/// straight-through gradients, 1x1 conv back up, conv decoder up again.
/// The output layer is linear in training and clamped to [0, 1] by <see cref="Decode"/>.
/// </summary>
public sealed class VqTokenizer : TokenizerModel
{
    private readonly Sequential encoder;
    private readonly Conv2d quant_conv;
    private readonly Codebook quantizer;
    private readonly Conv2d post_quant_conv;
    private readonly Sequential decoder;

    public VqTokenizer(VqTokenizerConfig config, Generator generator) : base(nameof(VqTokenizer), config)
    {
        if (config.Kind != VqTokenizerConfig.KindVq) throw new ArgumentException($"config kind is '{config.Kind}', not '{VqTokenizerConfig.KindVq}'");
        encoder = ConvStacks.Encoder(config);
        quant_conv = nn.Conv2d(config.LatentChannels, config.CodeDim, 1);      // (B, D, h, w)
        // EMA: LlamaGen's cosine codebook. SimVQ: Euclidean as in its paper; a cosine SimVQ codebook collapsed (one
        // code in use after 50 MNIST steps) because the learned bias moves the cloud off the origin and
        // normalising then points every code the same way.
        quantizer = Codebook.Create(config, cosine: config.Quantizer == VqTokenizerConfig.QuantizerEma, generator);
        post_quant_conv = nn.Conv2d(config.CodeDim, config.LatentChannels, 1); // (B, lat, h, w)
        decoder = ConvStacks.Decoder(config);
        RegisterComponents();
        ConvStacks.ResetParameters(this, generator, skipPrefix: "quantizer.");
    }

    public override string Kind => VqTokenizerConfig.KindVq;
    public override Codebook Quantizer => quantizer;

    public override TokenizerForward Forward(Tensor images_BCHW, bool updateCodebook, Generator? generator)
    {
        var z_BDhw = quant_conv.forward(encoder.forward(images_BCHW));
        var q = quantizer.Quantize(z_BDhw, updateCodebook, generator);
        var recon_BCHW = decoder.forward(post_quant_conv.forward(q.Quantized));
        var loss = Config.CommitmentWeight * q.CommitmentLoss;
        if (Config.Quantizer == VqTokenizerConfig.QuantizerSimVq) loss = loss + q.CodebookLoss;
        var b = images_BCHW.shape[0];
        return new TokenizerForward(recon_BCHW, q.Indices.reshape(b, -1), loss, q.RestartedCodes);
    }

    /// <summary>Images (B, C, H, W) in [0, 1] -> tokens (B, h*w), int64, row-major. No gradient, codebook untouched.</summary>
    public override Tensor Encode(Tensor images_BCHW)
    {
        using var _ = no_grad();
        var idx_Bhw = quantizer.Quantize(quant_conv.forward(encoder.forward(images_BCHW)), false, null).Indices;
        return idx_Bhw.reshape(idx_Bhw.shape[0], -1);
    }

    /// <summary>Tokens (B, h*w) -> images (B, C, d*h, d*w) in [0, 1], d the downsample. No gradient.</summary>
    public override Tensor Decode(Tensor tokens_BL)
    {
        using var _ = no_grad();
        var idx_Bhw = SplitScales(tokens_BL)[0];
        var q_BDhw = quantizer.Lookup(idx_Bhw).permute(0, 3, 1, 2);
        return decoder.forward(post_quant_conv.forward(q_BDhw)).clamp_(0, 1);
    }
}
