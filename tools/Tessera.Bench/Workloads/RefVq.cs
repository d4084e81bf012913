using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

using Tessera.Trainers;

namespace Tessera.Bench.Workloads;

/// <summary>
/// REF-VQ, the fixed reference tokenizer of `tessera-bench step` (issue 10), built exactly to its written description:
/// a conv encoder 28x28 -> 7x7 with residual blocks, an L2-normalised 8-wide latent quantized by cosine against a
/// learned 512x8 codebook (straight-through), and the mirror-image decoder; about 2.1M parameters. Independent of the
/// project's tokenizers on purpose, so the workload stays fixed. Library-default initialisation (global RNG).
/// </summary>
public sealed class RefVq : nn.Module
{
    public const int Codes = 512;
    public const int CodeDim = 8;
    public const int ImageSide = 28;
    /// <summary>Weight of the commitment term, as in VQ-VAE and LlamaGen.</summary>
    public const double Commitment = 0.25;

    private readonly Sequential encoder;
    private readonly Parameter codebook;
    private readonly Sequential decoder;

    public RefVq() : base(nameof(RefVq))
    {
        encoder = nn.Sequential(
            ("conv_in", nn.Conv2d(1, 64, 3, padding: 1)),                        // (B, 64, 28, 28)
            ("res1", new ResBlock(64)),
            ("down1", nn.Conv2d(64, 128, 4, stride: 2, padding: 1)),             // (B, 128, 14, 14)
            ("res2", new ResBlock(128)),
            ("down2", nn.Conv2d(128, 128, 4, stride: 2, padding: 1)),            // (B, 128, 7, 7)
            ("res3", new ResBlock(128)),
            ("to_code", nn.Conv2d(128, CodeDim, 1)));                            // (B, 8, 7, 7)
        codebook = nn.Parameter(empty(Codes, CodeDim).uniform_(-1.0 / Codes, 1.0 / Codes));
        decoder = nn.Sequential(
            ("from_code", nn.Conv2d(CodeDim, 128, 1)),                           // (B, 128, 7, 7)
            ("res1", new ResBlock(128)),
            ("up1", nn.ConvTranspose2d(128, 128, 4, stride: 2, padding: 1)),     // (B, 128, 14, 14)
            ("res2", new ResBlock(128)),
            ("up2", nn.ConvTranspose2d(128, 64, 4, stride: 2, padding: 1)),      // (B, 64, 28, 28)
            ("res3", new ResBlock(64)),
            ("conv_out", nn.Conv2d(64, 1, 3, padding: 1)));                      // (B, 1, 28, 28)
        RegisterComponents();
    }

    /// <summary>
    /// Images (B, 1, 28, 28) -> the loss: MSE reconstruction + codebook MSE mean((q - sg[z])^2) + 0.25 x
    /// commitment MSE mean((sg[q] - z)^2), with z and the codes L2-normalised and q the nearest code by cosine.
    /// </summary>
    public Tensor Loss(Tensor images_B1HW)
    {
        var z_BDhw = nn.functional.normalize(encoder.forward(images_B1HW), dim: 1);
        long b = z_BDhw.shape[0], h = z_BDhw.shape[2], w = z_BDhw.shape[3];
        var z_ND = z_BDhw.permute(0, 2, 3, 1).reshape(-1, CodeDim);
        var codes_KD = nn.functional.normalize(codebook, dim: 1);
        var nearest_N = z_ND.detach().matmul(codes_KD.detach().t()).argmax(1);      // cosine: both sides unit length
        var q_ND = codes_KD.index_select(0, nearest_N);
        var codebookLoss = nn.functional.mse_loss(q_ND, z_ND.detach());
        var commitmentLoss = nn.functional.mse_loss(q_ND.detach(), z_ND);
        var st_ND = z_ND + (q_ND - z_ND).detach();                                    // straight-through
        var recon_B1HW = decoder.forward(st_ND.reshape(b, h, w, CodeDim).permute(0, 3, 1, 2));
        return nn.functional.mse_loss(recon_B1HW, images_B1HW) + codebookLoss + Commitment * commitmentLoss;
    }

    /// <summary>x + conv3x3(silu(GroupNorm(8)(conv3x3(silu(GroupNorm(8)(x)))))).</summary>
    private sealed class ResBlock : nn.Module<Tensor, Tensor>
    {
        private readonly GroupNorm norm1;
        private readonly Conv2d conv1;
        private readonly GroupNorm norm2;
        private readonly Conv2d conv2;

        public ResBlock(int channels) : base(nameof(ResBlock))
        {
            norm1 = nn.GroupNorm(8, channels);
            conv1 = nn.Conv2d(channels, channels, 3, padding: 1);
            norm2 = nn.GroupNorm(8, channels);
            conv2 = nn.Conv2d(channels, channels, 3, padding: 1);
            RegisterComponents();
            // TorchSharp 0.107's GroupNorm leaves its affine weight and bias uninitialised (seen: NaN, or values of 1e6);
            // PyTorch's default is weight 1, bias 0.
            using var _ = no_grad();
            foreach (var norm in new[] { norm1, norm2 })
            {
                norm.weight!.fill_(1);
                norm.bias!.zero_();
            }
        }

        public override Tensor forward(Tensor x) =>
            x + conv2.forward(nn.functional.silu(norm2.forward(conv1.forward(nn.functional.silu(norm1.forward(x))))));
    }
}
