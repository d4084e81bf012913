using Tessera.Infra.Storage;
using Tessera.Infra.Specs;
using Tessera.Trainers;

namespace Tessera.Stages;

/// <summary>
/// The `eval` stage: samples the generator with and without guidance, judges the samples with the reference
/// classifier (<see cref="SampleJudge"/>: Fréchet distance to held-out features, class accuracy, inception-score
/// analogue, samples/s), and writes the grids and report.md. The Fréchet distance between two halves of the
/// held-out set is the floor.
/// </summary>
public static class EvalStage
{
    public static StageOutcome Run(StageContext context)
    {
        var store = context.Store;
        var device = TorchRuntime.ResolveDevice(context.Spec.Device);
        string generatorRef = context.Stage.String("generator");
        var (generatorStage, _) = StageCheckpoints.Resolve(store, context.ExperimentId, generatorRef, context.Cancellation);
        var (generator, tokenizer) = StageCheckpoints.LoadGenerator(store, generatorStage, device, context.Cancellation, context.Log);
        using var _ = generator;
        using var __ = tokenizer;
        using var judge = SampleJudge.Load(context, context.Stage.String("classifier"), device);

        var artifacts = new List<ArtifactRef>();
        var settings = Settings(context.Stage);
        var metrics = judge.Evaluate(context, generator.Model, tokenizer, settings, context.Stage.Name, artifacts,
            (done, samples, soFar) => context.Progress.Report(new TrainingProgress(context.Stage.Name, done, 2, 0, samples.SamplesPerSecond, soFar)));
        var section = new EvalSection(context.Stage.Name, generatorRef, generator.Config.Model, context.Stage.String("classifier"),
            settings.SamplesPerClass, metrics);
        artifacts.Add(StageData.WriteJson(context, EvalReport.SectionPath(context.ExperimentId, context.Stage.Name), section));
        artifacts.Add(EvalReport.Write(context));
        return new StageOutcome(metrics, artifacts);
    }

    static EvalSettings Settings(StageSpec stage) => new(stage.Int("samples_per_class"), stage.Double("cfg"), stage.Double("temperature"),
        stage.Int("top_k"), stage.Double("top_p"), stage.Int("batch_size"));
}
