using Tessera.Infra.Data;

namespace Tessera.Trainers.Tokenizers;

/// <summary>Held-out evaluation of a tokenizer.</summary>
/// <param name="Psnr">Mean of per-image PSNR, dB (the reported number).</param>
/// <param name="PsnrOfMeanMse">PSNR of the mean MSE over all images, dB (stricter: never above <paramref name="Psnr"/>).</param>
/// <param name="MeanMse">Mean squared error per pixel.</param>
/// <param name="CodebookUsage">Fraction of codes used on the set.</param>
/// <param name="Perplexity">exp(entropy) of code usage on the set.</param>
/// <param name="Reconstructions">All reconstructions as bytes, in input order.</param>
public sealed record TokenizerEvaluation(
    double Psnr, double PsnrOfMeanMse, double MeanMse, double CodebookUsage, double Perplexity, ImageBatch Reconstructions);
