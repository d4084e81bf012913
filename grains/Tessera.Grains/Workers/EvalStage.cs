using Tessera.Infra.Data;
using Tessera.Infra.Images;
using Tessera.Trainers;
using Tessera.Trainers.Evaluation;
using Tessera.Trainers.Generators;
using Tessera.Trainers.Inference;
using Tessera.Trainers.Tokenizers;
using TorchSharp;

namespace Tessera.Grains.Workers;

/// <summary>
/// The `eval` stage: samples the generator with and without guidance, judges the samples with the reference
/// classifier (Fréchet distance to held-out features, class accuracy, inception-score analogue, samples/s),
/// and writes the grids and report.md. The Fréchet distance between two halves of the held-out set is the floor.
/// </summary>
public static class EvalStage
{
    public static StageOutcome Run(StageContext context)
    {
        var store = context.Services.Store;
        var device = TorchRuntime.ResolveDevice(context.Spec.Device);
        string generatorRef = context.Stage.String("generator");
        var (generatorPath, _) = StageCheckpoints.Resolve(store, context.ExperimentId, generatorRef, context.Cancellation);
        var (generator, tokenizer) = StageCheckpoints.LoadGenerator(store, generatorPath, device, context.Cancellation);
        using var _ = generator;
        using var __ = tokenizer;
        var (classifierPath, _) = StageCheckpoints.Resolve(store, context.ExperimentId, context.Stage.String("classifier"), context.Cancellation);
        using var classifier = Load(context, classifierPath, s => DigitClassifierTrainer.LoadCheckpoint(s, device, classifierPath));

        DatasetManifest manifest = StageData.Manifest(context);
        ImageBatch heldOut = ImageShard.Concatenate(StageData.Images(context, manifest, "heldout"));
        var metrics = new Dictionary<string, double>();
        using (var scope = torch.NewDisposeScope())
        {
            var heldOutFeatures = classifier.Features(ImageTensors.ToTensor(heldOut, device));
            var even = torch.arange(0, heldOut.Count, 2, device: device);
            var odd = torch.arange(1, heldOut.Count, 2, device: device);
            metrics["fd_heldout_halves"] = FrechetDistance.Compute(heldOutFeatures.index_select(0, even), heldOutFeatures.index_select(0, odd));

            var artifacts = new List<ArtifactInfo>();
            int perClass = context.Stage.Int("samples_per_class");
            var classes = Enumerable.Range(0, manifest.ClassNames.Count).ToList();
            foreach (var (mode, cfg) in new (string, double?)[] { ("guided", context.Stage.Double("cfg")), ("unguided", null) })
            {
                var options = new SamplingOptions(context.Stage.Double("temperature"), context.Stage.Int("top_k"), context.Stage.Double("top_p"), cfg);
                SampledImages samples = ImageSampler.Generate(generator.Model, tokenizer, classes, perClass, options,
                    context.Spec.Seed, context.Stage.Int("batch_size"), context.Cancellation);
                var images = ImageTensors.ToTensor(samples.Images, device);
                var probabilities = classifier.Probabilities(images);
                metrics[$"{mode}_class_accuracy"] = SampleMetrics.ClassAccuracy(probabilities, samples.Images.Labels);
                metrics[$"{mode}_inception_score"] = SampleMetrics.InceptionScore(probabilities);
                metrics[$"{mode}_fd"] = FrechetDistance.Compute(classifier.Features(images), heldOutFeatures);
                metrics[$"{mode}_samples_per_second"] = samples.SamplesPerSecond;
                artifacts.Add(StageData.Write(context, EvalReport.Grid(context.ExperimentId, context.Stage.Name, mode),
                    ImageGrid.RenderPng(ImageSampler.RowsPerClass(samples.Images, perClass, columns: Math.Min(perClass, 16)))));
                context.Progress.Report(new TrainingProgress(context.Stage.Name, mode == "guided" ? 1 : 2, 2, 0, samples.SamplesPerSecond, metrics));
            }
            metrics["guided_cfg"] = context.Stage.Double("cfg");
            metrics["forward_passes_per_image"] = generator.Config.ForwardPassesPerImage;
            var section = new EvalSection(context.Stage.Name, generatorRef, generator.Config.Model, context.Stage.String("classifier"), perClass, metrics);
            artifacts.Add(StageData.WriteJson(context, EvalReport.SectionPath(context.ExperimentId, context.Stage.Name), section));
            artifacts.Add(StageData.Write(context, $"{context.ExperimentId}/report.md",
                System.Text.Encoding.UTF8.GetBytes(EvalReport.Markdown(context.ExperimentId, EvalReport.Sections(context)))));
            return new StageOutcome(metrics, artifacts);
        }
    }

    static T Load<T>(StageContext context, string path, Func<Stream, T> load)
    {
        using var stream = context.Services.Store.OpenReadAsync(path, context.Cancellation).GetAwaiter().GetResult();
        return load(stream);
    }
}
