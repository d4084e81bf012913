using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tessera.Trainers.Tokenizers;

/// <summary>
/// SimVQ (youngsheen/SimVQ): a frozen random codebook C passed through a learned linear map W, codes = C W^T.
/// The gradient of the codebook loss moves W, and with it every code at once, so a code nobody picks still moves
/// towards the latents and gets picked later: no restarts, no EMA statistics.
/// </summary>
public sealed class SimVqCodebook : Codebook
{
    private readonly Linear proj;

    public SimVqCodebook(int codebookSize, int codeDim, bool cosine, Generator generator)
        : base(nameof(SimVqCodebook), codebookSize, codeDim, cosine)
    {
        // SimVQ's initialisation: N(0, 1/D) entries, so a code has roughly unit norm.
        register_buffer("frozen", randn(codebookSize, codeDim, generator: generator).mul_(1.0 / Math.Sqrt(codeDim)));
        // With a bias the whole code cloud can move onto the latents' region; without one (tried first) a cosine
        // codebook used 14 of 512 codes after 100 MNIST steps, the cloud staying centred where the latents are not.
        proj = nn.Linear(codeDim, codeDim, hasBias: true);
        RegisterComponents();
        using var _ = no_grad();
        // Start from the identity so the first codes are the random frozen ones, not a random projection that may
        // collapse them into a low-dimensional subspace.
        proj.weight!.copy_(eye(codeDim));
        proj.bias!.zero_();
    }

    public override Tensor Codes()
    {
        var codes_KD = proj.forward(get_buffer("frozen")!);
        return Cosine ? nn.functional.normalize(codes_KD, 2, 1, NormEps) : codes_KD;
    }

    public override Tensor CodebookLoss(Tensor target_ND, Tensor chosen_ND) => nn.functional.mse_loss(chosen_ND, target_ND);

    public override int Update(Tensor x_ND, Tensor idx_N, Generator generator) => 0;
}
