using System.Diagnostics;
using Tessera.Infra.Data;
using Tessera.Trainers.Generators;
using Tessera.Trainers.Tokenizers;
using static TorchSharp.torch;

namespace Tessera.Trainers.Evaluation;

/// <summary>Scores of one batch of class-conditional samples against held-out images.</summary>
/// <param name="ClassAccuracy">Fraction of samples the reference classifier labels as the requested class.</param>
/// <param name="FrechetDistance">Between classifier features of the samples and of the held-out images.</param>
/// <param name="InceptionScore">exp(E KL(p(y|x) || p(y))) over the samples; 10 is the ceiling for 10 balanced classes.</param>
/// <param name="SamplesPerSecond">Token generation only (decode and scoring excluded).</param>
/// <param name="Images">The decoded samples, labelled with the requested class, class-major.</param>
public sealed record GenerationReport(double ClassAccuracy, double FrechetDistance, double InceptionScore, double SamplesPerSecond, ImageBatch Images);

/// <summary>Samples a generator per class, decodes with the tokenizer and scores with the reference classifier.</summary>
public static class GenerationEvaluation
{
    /// <summary>
    /// <paramref name="perClass"/> samples of every class from the raster GPT (KV-cached), in chunks of
    /// <paramref name="batchSize"/>, all randomness from <paramref name="seed"/>.
    /// </summary>
    public static GenerationReport EvaluateGpt(GptGenerator model, IImageTokenizer tokenizer, DigitClassifierTrainer classifier,
        Tensor heldOutFeatures_NF, int perClass, SamplingOptions options, long seed, int batchSize = 250)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(perClass);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var classes = Enumerable.Range(0, model.Config.Classes * perClass).Select(i => i / perClass).ToArray();
        using var generator = new Generator((ulong)seed);
        using var scope = NewDisposeScope();
        var clock = Stopwatch.StartNew();
        var chunks = new List<Tensor>();
        for (int start = 0; start < classes.Length; start += batchSize)
            chunks.Add(GptSampler.Generate(model, classes[start..Math.Min(classes.Length, start + batchSize)], options, generator));
        double seconds = clock.Elapsed.TotalSeconds;
        var tokens_BL = cat(chunks, 0);
        return Score(tokenizer, classifier, heldOutFeatures_NF, tokens_BL, classes, classes.Length / Math.Max(1e-9, seconds));
    }

    /// <summary>Decodes token ids (B, L), scores them against the requested classes.</summary>
    public static GenerationReport Score(IImageTokenizer tokenizer, DigitClassifierTrainer classifier, Tensor heldOutFeatures_NF,
        Tensor tokens_BL, int[] classes, double samplesPerSecond)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(classifier);
        using var scope = NewDisposeScope();
        var images_BCHW = tokenizer.Decode(tokens_BL);
        var probs_BK = classifier.Probabilities(images_BCHW);
        var features_BF = classifier.Features(images_BCHW);
        return new GenerationReport(
            SampleMetrics.ClassAccuracy(probs_BK, classes),
            FrechetDistance.Compute(features_BF, heldOutFeatures_NF),
            SampleMetrics.InceptionScore(probs_BK),
            samplesPerSecond,
            ImageTensors.ToImageBatch(images_BCHW, classes));
    }
}
