using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tessera.Trainers.Tokenizers;

/// <summary>
/// The conv encoder and decoder both tokenizer kinds share: down by the config's downsample (one stride-2 conv per
/// factor of 2) with residual blocks at the latent grid, and the mirror image up. Built here once so the single- and
/// multi-scale tokenizers differ only in their quantizer. The submodule names are part of the checkpoint format:
/// downsample 4 builds exactly the modules of the 28x28-only version (conv_in, down1, down2, res*, up1, up2,
/// conv_out); 8 and 16 add down3, down4 and up3, up4. Encoder stages count from the finest resolution, decoder
/// stages from the coarsest (in the order they run), so for 8 and 16 the decoder's up1 is a lat -> lat stage.
/// </summary>
internal static class ConvStacks
{
    /// <summary>Stride-2 stages for a downsample of 4, 8 or 16: its base-2 logarithm.</summary>
    public static int Stages(int downsample) => downsample switch
    {
        4 => 2,
        8 => 3,
        16 => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(downsample), downsample, "downsample must be 4, 8 or 16"),
    };

    /// <summary>
    /// (B, C, H, W) -> (B, lat, H/d, W/d). Width hid at full resolution, lat from the first downsample on: the deeper
    /// stages run on 4x fewer positions each, so keeping lat there costs less than the first stage.
    /// </summary>
    public static Sequential Encoder(VqTokenizerConfig config)
    {
        int c = config.ImageChannels, hid = config.HiddenChannels, lat = config.LatentChannels;
        int stages = Stages(config.EffectiveDownsample);
        var enc = new List<(string, nn.Module<Tensor, Tensor>)>
        {
            ("conv_in", nn.Conv2d(c, hid, 3, padding: 1)),                 // (B, hid, H, W)
            ("act_in", nn.SiLU()),
            ("down1", nn.Conv2d(hid, lat, 3, stride: 2, padding: 1)),       // (B, lat, H/2, W/2)
        };
        for (int i = 2; i <= stages; i++)
        {
            enc.Add(($"act{i - 1}", nn.SiLU()));
            enc.Add(($"down{i}", nn.Conv2d(lat, lat, 3, stride: 2, padding: 1))); // (B, lat, H/2^i, W/2^i)
        }
        for (int i = 0; i < config.ResidualBlocks; i++) enc.Add(($"res{i}", new ResidualBlock(lat)));
        enc.Add(("act_out", nn.SiLU()));
        return nn.Sequential(enc);
    }

    /// <summary>
    /// (B, lat, h, w) -> (B, C, d*h, d*w), unbounded: a sigmoid output saturated to all-black on MNIST. Mirrors the
    /// encoder: lat until the last two up-stages, which (like conv_in) run at hid on the two finest resolutions.
    /// </summary>
    public static Sequential Decoder(VqTokenizerConfig config)
    {
        int c = config.ImageChannels, hid = config.HiddenChannels, lat = config.LatentChannels;
        int stages = Stages(config.EffectiveDownsample);
        var dec = new List<(string, nn.Module<Tensor, Tensor>)>();
        for (int i = 0; i < config.ResidualBlocks; i++) dec.Add(($"res{i}", new ResidualBlock(lat)));
        dec.Add(("act0", nn.SiLU()));
        int Width(int stage) => stage >= stages - 1 ? hid : lat;  // output width of up-stage `stage`
        for (int i = 1; i <= stages; i++)
        {
            dec.Add(($"up{i}", nn.ConvTranspose2d(i == 1 ? lat : Width(i - 1), Width(i), 4, stride: 2, padding: 1))); // (B, width, 2^i h, 2^i w)
            dec.Add(($"act{i}", nn.SiLU()));
        }
        dec.Add(("conv_out", nn.Conv2d(hid, c, 3, padding: 1)));                 // (B, C, H, W)
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
