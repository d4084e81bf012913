using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tessera.Trainers.Tokenizers;

/// <summary>
/// The conv encoder and decoder both tokenizer kinds share: down 4x (28x28 -> 7x7) with residual blocks at the
/// latent, and the mirror image up. Built here once so the single- and multi-scale tokenizers differ only in
/// their quantizer; the submodule names are part of the checkpoint format.
/// </summary>
internal static class ConvStacks
{
    /// <summary>Downsampling factor of the encoder (two stride-2 convs).</summary>
    public const int Downsample = 4;

    /// <summary>(B, C, H, W) -> (B, lat, H/4, W/4).</summary>
    public static Sequential Encoder(VqTokenizerConfig config)
    {
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
        return nn.Sequential(enc);
    }

    /// <summary>(B, lat, h, w) -> (B, C, 4h, 4w), unbounded: a sigmoid output saturated to all-black on MNIST.</summary>
    public static Sequential Decoder(VqTokenizerConfig config)
    {
        int c = config.ImageChannels, hid = config.HiddenChannels, lat = config.LatentChannels;
        var dec = new List<(string, nn.Module<Tensor, Tensor>)>();
        for (int i = 0; i < config.ResidualBlocks; i++) dec.Add(($"res{i}", new ResidualBlock(lat)));
        dec.Add(("act0", nn.SiLU()));
        dec.Add(("up1", nn.ConvTranspose2d(lat, hid, 4, stride: 2, padding: 1))); // (B, hid, 14, 14)
        dec.Add(("act1", nn.SiLU()));
        dec.Add(("up2", nn.ConvTranspose2d(hid, hid, 4, stride: 2, padding: 1))); // (B, hid, 28, 28)
        dec.Add(("act2", nn.SiLU()));
        dec.Add(("conv_out", nn.Conv2d(hid, c, 3, padding: 1)));                 // (B, C, 28, 28)
        return nn.Sequential(dec);
    }

    /// <summary>
    /// PyTorch's default conv initialisation (uniform in +-1/sqrt(fan_in) for weight and bias), drawn from an explicit
    /// generator so a seed fixes the weights whatever else touched the global RNG. The codebook (prefix
    /// <paramref name="skipPrefix"/>) keeps its own initialisation.
    /// </summary>
    public static void ResetParameters(nn.Module module, Generator generator, string skipPrefix)
    {
        using var _ = no_grad();
        var parameters = module.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, weight) in parameters)
        {
            if (!name.EndsWith(".weight", StringComparison.Ordinal) || name.StartsWith(skipPrefix, StringComparison.Ordinal)) continue;
            long fanIn = weight.shape.Skip(1).Aggregate(1L, (a, s) => a * s);
            double bound = 1.0 / Math.Sqrt(fanIn);
            SeededInit.Uniform(weight, bound, generator);
            if (parameters.TryGetValue(name[..^".weight".Length] + ".bias", out var bias))
                SeededInit.Uniform(bias, bound, generator);
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
