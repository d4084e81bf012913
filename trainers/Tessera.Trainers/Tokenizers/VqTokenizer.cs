using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tessera.Trainers.Tokenizers;

/// <summary>What one training-mode pass of the tokenizer produced.</summary>
public readonly record struct VqForward(Tensor Reconstruction, Tensor Indices, Tensor CommitmentLoss, int RestartedCodes);

/// <summary>
/// LlamaGen-style VQ image tokenizer: conv encoder down 4x (28x28 -> 7x7), 1x1 conv to a small code dimension,
/// cosine nearest-code lookup with straight-through gradients, 1x1 conv back up, conv decoder up 4x. The output
/// layer is linear in training and clamped to [0, 1] by <see cref="Decode"/>: a sigmoid output saturated to
/// all-black within ten steps on MNIST's mostly black pixels and never recovered. Knows nothing of training:
/// the trainer owns losses, optimizer and schedule.
/// </summary>
public sealed class VqTokenizer : nn.Module
{
    /// <summary>Downsampling factor of the encoder (two stride-2 convs).</summary>
    public const int Downsample = 4;

    private readonly Sequential encoder;
    private readonly Conv2d quant_conv;
    private readonly EmaQuantizer quantizer;
    private readonly Conv2d post_quant_conv;
    private readonly Sequential decoder;

    public VqTokenizer(VqTokenizerConfig config, Generator generator) : base(nameof(VqTokenizer))
    {
        config.Validate();
        Config = config;
        int c = config.ImageChannels, hid = config.HiddenChannels, lat = config.LatentChannels;

        var enc = new List<(string, nn.Module<Tensor, Tensor>)>
        {
            ("conv_in", nn.Conv2d(c, hid, 3, padding: 1)),                 // (B, hid, 28, 28)
            ("act_in", nn.SiLU()),
            ("down1", nn.Conv2d(hid, lat, 3, stride: 2, padding: 1)),       // (B, lat, 14, 14)
            ("act1", nn.SiLU()),
            ("down2", nn.Conv2d(lat, lat, 3, stride: 2, padding: 1)),       // (B, lat, 7, 7)
        };
        for (int i = 0; i < config.ResidualBlocks; i++) enc.Add(($"res{i}", new ResidualBlock(lat)));
        enc.Add(("act_out", nn.SiLU()));
        encoder = nn.Sequential(enc);
        quant_conv = nn.Conv2d(lat, config.CodeDim, 1);                     // (B, D, 7, 7)
        quantizer = new EmaQuantizer(config.CodebookSize, config.CodeDim, config.EmaDecay, config.DeadCodeThreshold, generator);
        post_quant_conv = nn.Conv2d(config.CodeDim, lat, 1);                // (B, lat, 7, 7)

        var dec = new List<(string, nn.Module<Tensor, Tensor>)>();
        for (int i = 0; i < config.ResidualBlocks; i++) dec.Add(($"res{i}", new ResidualBlock(lat)));
        dec.Add(("act0", nn.SiLU()));
        dec.Add(("up1", nn.ConvTranspose2d(lat, hid, 4, stride: 2, padding: 1))); // (B, hid, 14, 14)
        dec.Add(("act1", nn.SiLU()));
        dec.Add(("up2", nn.ConvTranspose2d(hid, hid, 4, stride: 2, padding: 1))); // (B, hid, 28, 28)
        dec.Add(("act2", nn.SiLU()));
        dec.Add(("conv_out", nn.Conv2d(hid, c, 3, padding: 1)));                 // (B, C, 28, 28), unbounded
        decoder = nn.Sequential(dec);

        RegisterComponents();
        ResetParameters(generator);
    }

    public VqTokenizerConfig Config { get; }
    public EmaQuantizer Quantizer => quantizer;

    /// <summary>Training-mode pass: unclamped reconstruction, code indices, commitment loss; optionally one EMA codebook step.</summary>
    public VqForward Forward(Tensor images_BCHW, bool updateCodebook, Generator? generator)
    {
        var z_BDhw = quant_conv.forward(encoder.forward(images_BCHW));
        var q = quantizer.Quantize(z_BDhw, updateCodebook, generator);
        var recon_BCHW = decoder.forward(post_quant_conv.forward(q.Quantized));
        return new VqForward(recon_BCHW, q.Indices, q.CommitmentLoss, q.RestartedCodes);
    }

    /// <summary>Images (B, C, H, W) in [0, 1] -> code indices (B, H/4, W/4), int64. No gradient, codebook untouched.</summary>
    public Tensor Encode(Tensor images_BCHW)
    {
        using var _ = no_grad();
        return quantizer.Quantize(quant_conv.forward(encoder.forward(images_BCHW)), false, null).Indices;
    }

    /// <summary>Code indices (B, h, w) -> images (B, C, 4h, 4w) in [0, 1]. No gradient.</summary>
    public Tensor Decode(Tensor indices_Bhw)
    {
        using var _ = no_grad();
        var q_BDhw = quantizer.Lookup(indices_Bhw).permute(0, 3, 1, 2);
        return decoder.forward(post_quant_conv.forward(q_BDhw)).clamp_(0, 1);
    }

    /// <summary>
    /// PyTorch's default conv initialisation (uniform in +-1/sqrt(fan_in) for weight and bias), drawn from an explicit
    /// generator so a seed fixes the weights whatever else touched the global RNG.
    /// </summary>
    private void ResetParameters(Generator generator)
    {
        using var _ = no_grad();
        var parameters = named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, weight) in parameters)
        {
            if (!name.EndsWith(".weight", StringComparison.Ordinal)) continue;
            long fanIn = weight.shape.Skip(1).Aggregate(1L, (a, s) => a * s);
            double bound = 1.0 / Math.Sqrt(fanIn);
            nn.init.uniform_(weight, -bound, bound, generator);
            if (parameters.TryGetValue(name[..^".weight".Length] + ".bias", out var bias))
                nn.init.uniform_(bias, -bound, bound, generator);
        }
    }
}

/// <summary>Pre-activation residual block at constant width: x + conv(silu(conv(silu(x)))).</summary>
internal sealed class ResidualBlock : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly Conv2d conv2;

    public ResidualBlock(int channels) : base(nameof(ResidualBlock))
    {
        conv1 = nn.Conv2d(channels, channels, 3, padding: 1);
        conv2 = nn.Conv2d(channels, channels, 3, padding: 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x_BCHW)
    {
        var h = conv1.forward(nn.functional.silu(x_BCHW));
        return x_BCHW + conv2.forward(nn.functional.silu(h));
    }
}
