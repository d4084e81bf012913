using Tessera.Infra.Storage;
using Tessera.Infra.Data;
using Tessera.Infra.Images;
using Tessera.Infra.Specs;
using Tessera.Trainers;
using Tessera.Trainers.Generators;
using Tessera.Trainers.Inference;

namespace Tessera.Stages;

/// <summary>Which tokenizer a generator was trained on: recorded beside its checkpoint, checked by every later user.</summary>
/// <param name="TokenizerStage">The tokenizer as "experiment-id/stage"; absent from lineages written before it was recorded.</param>
public sealed record GeneratorLineage(string TokenizerCheckpoint, string TokenizerSha256, int[] Scales, string? TokenizerStage = null)
{
    /// <summary>The tokenizer stage's artifacts. A lineage without <see cref="TokenizerStage"/> (an older one) names it
    /// only by its checkpoint path, experiment-id/checkpoints/stage.ckpt, which is read once here.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public StageArtifacts Tokenizer => TokenizerStage is { } stage ? StageArtifacts.Referenced("", stage)
        : TokenizerCheckpoint.Split('/') is [var experiment, "checkpoints", var file] && file.EndsWith(".ckpt", StringComparison.Ordinal)
            ? new StageArtifacts(experiment, file[..^".ckpt".Length])
            : throw new InvalidDataException($"lineage names tokenizer checkpoint '{TokenizerCheckpoint}', not <experiment>/checkpoints/<stage>.ckpt");
}

/// <summary>
/// The `generator` stage: trains a class-conditional generator (`model: gpt`, raster next-token, or `model: var`,
/// next-scale over a multi-scale tokenizer) on the tokens the named tokenizer made (and only those), then
/// writes its checkpoint, its lineage and a sample grid (one row per class).
/// </summary>
public static class GeneratorStage
{

    public static StageOutcome Run(StageContext context)
    {
        var store = context.Store;
        var (tokenizerStage, tokenizerCheckpoint) = StageCheckpoints.Resolve(store, context.ExperimentId, context.Stage.String("tokenizer"), context.Cancellation);
        var device = TorchRuntime.ResolveDevice(context.Spec.Device);
        using var tokenizer = StageCheckpoints.LoadTokenizer(store, tokenizerStage, device, context.Cancellation, context.Log);

        DatasetManifest manifest = StageData.Manifest(context);
        var train = StageData.Tokens(context, manifest, "train", tokenizerCheckpoint.Sha256, tokenizer.Scales);
        var heldOut = StageData.Tokens(context, manifest, "heldout", tokenizerCheckpoint.Sha256, tokenizer.Scales);

        GeneratorConfig config = FromStage(context.Stage) with
        {
            SequenceLength = train[0].Length, CodebookSize = tokenizer.CodebookSize, Classes = manifest.ClassNames.Count,
            Scales = tokenizer.Scales.ToArray(), InputDim = tokenizer.Config.CodeDim,
        };
        if (config.Model == GeneratorConfig.ModelVar && tokenizer.ScaleInputs is null)
            throw new InvalidOperationException($"stage '{context.Stage.Name}' has model: var, which predicts scale by scale and needs a " +
                $"multi-scale tokenizer (kind: msvq); tokenizer '{context.Stage.String("tokenizer")}' is kind '{tokenizer.Kind}'");
        using var trainer = StageResume.Latest(context, s => GeneratorTrainer.LoadCheckpoint(s, device, tokenizer.ScaleInputs))
            ?? new GeneratorTrainer(config, device, context.Spec.Seed, tokenizer.ScaleInputs);
        int resumedFrom = trainer.Step;
        var source = new TokenBatchSource(train, (ulong)context.Spec.Seed, context.Parallel, position: (long)resumedFrom * config.BatchSize);
        double finalLoss = trainer.Train(source, context.Progress, context.Cancellation, context.Parallel,
            StageResume.Periodic(context, s => trainer.SaveCheckpoint(s, context.ResolvedSpecYaml)));
        if (!context.IsLeader) return StageOutcome.FollowerDone;
        double heldOutLoss = trainer.Evaluate(Concatenate(heldOut));

        const int perClass = 10;
        var preview = ImageSampler.Generate(trainer.Model, tokenizer, Enumerable.Range(0, config.Classes).ToList(), perClass,
            new SamplingOptions(CfgScale: context.Stage.Double("preview_cfg")), context.Spec.Seed, batchSize: 100, context.Cancellation);
        var artifacts = new List<ArtifactRef>
        {
            StageData.WriteCheckpoint(context, stream => trainer.SaveCheckpoint(stream, context.ResolvedSpecYaml), resumableAtStep: trainer.Step),
            StageData.WriteJson(context, context.Artifacts.Lineage,
                new GeneratorLineage(tokenizerStage.Checkpoint, tokenizerCheckpoint.Sha256, tokenizer.Scales.ToArray(), tokenizerStage.ToString())),
            StageData.Write(context, context.Artifacts.Samples,
                ImageGrid.RenderPng(ImageSampler.RowsPerClass(preview.Images, perClass, perClass))),
        };
        return new StageOutcome(StageResume.Note(resumedFrom, new Dictionary<string, double>
        {
            ["final_loss"] = finalLoss,
            ["heldout_loss"] = heldOutLoss,
            ["steps"] = trainer.Step,
            ["skipped_steps"] = trainer.NonFinite.SkippedSteps,
            ["parameters"] = trainer.Model.parameters().Sum(p => p.numel()),
            ["forward_passes_per_image"] = config.ForwardPassesPerImage,
        }), artifacts);
    }

    public static GeneratorConfig FromStage(StageSpec stage) => SettingBinder.Bind(stage, new GeneratorConfig());

    static TokenBatch Concatenate(IReadOnlyList<TokenShard> shards) =>
        new(shards.SelectMany(s => s.Tokens).ToArray(), shards.SelectMany(s => s.Labels).ToArray(), shards.Sum(s => s.Count), shards[0].Length);
}
