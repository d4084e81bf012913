using Tessera.Infra.Storage;
using Tessera.Infra.Data;
using Tessera.Infra.Images;
using Tessera.Trainers;
using Tessera.Trainers.Evaluation;
using Tessera.Trainers.Generators;
using Tessera.Trainers.Inference;
using Tessera.Trainers.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Stages;

/// <summary>How a generator is sampled for evaluation: per class, guided at <see cref="Cfg"/> and guidance-free.</summary>
public sealed record EvalSettings(int SamplesPerClass, double Cfg, double Temperature, int TopK, double TopP, int BatchSize)
{
    public SamplingOptions Sampling(double? cfg) => new(Temperature, TopK, TopP, cfg);
}

/// <summary>
/// The eval stage's measurement of a generator, shared by the eval stage and the alignment stages' before/after
/// runs: the reference classifier with the held-out digits' features, and one <see cref="Evaluate"/> that samples
/// guided and guidance-free and reports class accuracy, Fréchet distance, inception-score analogue, mean reward
/// (the classifier's probability of the requested class) and samples/s, writing a grid per mode.
/// </summary>
public sealed class SampleJudge : IDisposable
{
    public static readonly string[] Modes = ["guided", "unguided"];

    readonly Tensor _heldOutFeatures_NF;

    SampleJudge(DigitClassifierTrainer classifier, Tensor heldOutFeatures_NF, double floor)
    {
        Classifier = classifier;
        _heldOutFeatures_NF = heldOutFeatures_NF;
        HeldOutFloor = floor;
    }

    public DigitClassifierTrainer Classifier { get; }
    /// <summary>Fréchet distance between two halves of the held-out set: the best a generator can hope for.</summary>
    public double HeldOutFloor { get; }

    /// <summary>Loads the classifier stage <paramref name="classifierRef"/> names and featurises the held-out digits.</summary>
    public static SampleJudge Load(StageContext context, string classifierRef, Device device)
    {
        var (classifierStage, _) = StageCheckpoints.Resolve(context.Store, context.ExperimentId, classifierRef, context.Cancellation);
        DigitClassifierTrainer classifier;
        using (var stream = StageCheckpoints.ReadVerified(context.Store, classifierStage, context.Cancellation, context.Log))
            classifier = DigitClassifierTrainer.LoadCheckpoint(stream, device, classifierStage.Checkpoint);
        try
        {
            ImageBatch heldOut = ImageShard.Concatenate(StageData.Images(context, StageData.Manifest(context), "heldout"));
            using var scope = torch.NewDisposeScope();
            var features_NF = classifier.Features(ImageTensors.ToTensor(heldOut, device));
            var even = torch.arange(0, heldOut.Count, 2, device: device);
            var odd = torch.arange(1, heldOut.Count, 2, device: device);
            double floor = FrechetDistance.Compute(features_NF.index_select(0, even), features_NF.index_select(0, odd));
            return new SampleJudge(classifier, features_NF.MoveToOuterDisposeScope(), floor);
        }
        catch
        {
            classifier.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Samples <paramref name="generator"/> per class guided and guidance-free and judges the samples. Metrics are keyed
    /// "{mode}_{what}" (mode guided or unguided); each mode's grid is written to <c>EvalReport.Grid(experiment, grid, mode)</c>
    /// and added to <paramref name="artifacts"/>; <paramref name="onMode"/> hears each finished mode (1 then 2 of 2).
    /// </summary>
    public Dictionary<string, double> Evaluate(StageContext context, TokenGenerator generator, IImageTokenizer tokenizer, EvalSettings settings,
        string grid, List<ArtifactRef> artifacts, Action<int, SampledImages, IReadOnlyDictionary<string, double>>? onMode = null)
    {
        var device = generator.Device;
        var metrics = new Dictionary<string, double>();
        var classes = Enumerable.Range(0, generator.Config.Classes).ToList();
        int perClass = settings.SamplesPerClass;
        for (int m = 0; m < Modes.Length; m++)
        {
            string mode = Modes[m];
            using var scope = torch.NewDisposeScope();
            SampledImages samples = ImageSampler.Generate(generator, tokenizer, classes, perClass,
                settings.Sampling(mode == "guided" ? settings.Cfg : null), context.Spec.Seed, settings.BatchSize, context.Cancellation);
            var images = ImageTensors.ToTensor(samples.Images, device);
            var probabilities_NK = Classifier.Probabilities(images);
            metrics[$"{mode}_class_accuracy"] = SampleMetrics.ClassAccuracy(probabilities_NK, samples.Images.Labels);
            metrics[$"{mode}_inception_score"] = SampleMetrics.InceptionScore(probabilities_NK);
            metrics[$"{mode}_fd"] = FrechetDistance.Compute(Classifier.Features(images), _heldOutFeatures_NF);
            metrics[$"{mode}_mean_reward"] = MeanProbabilityOfRequested(probabilities_NK, samples.Images.Labels);
            metrics[$"{mode}_samples_per_second"] = samples.SamplesPerSecond;
            artifacts.Add(StageData.Write(context, EvalReport.Grid(context.ExperimentId, grid, mode),
                ImageGrid.RenderPng(ImageSampler.RowsPerClass(samples.Images, perClass, columns: Math.Min(perClass, 16)))));
            onMode?.Invoke(m + 1, samples, metrics);
        }
        metrics["guided_cfg"] = settings.Cfg;
        metrics["forward_passes_per_image"] = generator.Config.ForwardPassesPerImage;
        metrics["fd_heldout_halves"] = HeldOutFloor;
        return metrics;
    }

    /// <summary>
    /// The reward DPO and RL use, per sample: the classifier's probability that image i shows class i
    /// (<paramref name="probabilities_NK"/> from <see cref="DigitClassifierTrainer.Probabilities"/>), (N) float64.
    /// </summary>
    public static Tensor ProbabilityOfRequested(Tensor probabilities_NK, Tensor classes_N) =>
        probabilities_NK.gather(1, classes_N.to(int64).to(probabilities_NK.device).unsqueeze(1)).squeeze(1);

    static double MeanProbabilityOfRequested(Tensor probabilities_NK, IReadOnlyList<int> labels)
    {
        using var scope = torch.NewDisposeScope();
        return ProbabilityOfRequested(probabilities_NK, tensor(labels.Select(l => (long)l).ToArray())).mean().item<double>();
    }

    /// <summary>
    /// The reward of generated token sequences (R, L) for classes (R): decoded with <paramref name="tokenizer"/>, judged
    /// by the classifier (<see cref="ProbabilityOfRequested"/>). (R) float64 on the classes' device.
    /// </summary>
    public Func<Tensor, Tensor, Tensor> Reward(IImageTokenizer tokenizer) => (classes_R, tokens_RL) =>
    {
        using var noGrad = torch.no_grad();
        var probabilities_RK = Classifier.Probabilities(tokenizer.Decode(tokens_RL));
        return ProbabilityOfRequested(probabilities_RK, classes_R).to(classes_R.device);
    };

    public void Dispose()
    {
        _heldOutFeatures_NF.Dispose();
        Classifier.Dispose();
    }
}
