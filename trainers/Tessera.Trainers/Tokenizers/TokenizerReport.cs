using Tessera.Infra.Data;

namespace Tessera.Trainers.Tokenizers;

/// <summary>Outcome of a tokenizer training run, measured on the held-out images.</summary>
/// <param name="HeldOutPsnr">Mean over held-out images of per-image PSNR (dB, images in [0, 1]).</param>
/// <param name="CodebookUsage">Fraction of codebook entries used at least once on the held-out set.</param>
/// <param name="Perplexity">exp(entropy) of held-out code usage: the effective number of codes.</param>
/// <param name="FinalLoss">Training loss of the last step.</param>
/// <param name="Steps">Optimizer steps completed.</param>
/// <param name="Originals">A few held-out images, spread evenly over the set, as bytes.</param>
/// <param name="Reconstructions">Their reconstructions, same order and layout.</param>
public sealed record TokenizerReport(
    double HeldOutPsnr,
    double CodebookUsage,
    double Perplexity,
    double FinalLoss,
    int Steps,
    ImageBatch Originals,
    ImageBatch Reconstructions);
