using Tessera.Infra.Data;
using Tessera.Infra.Specs;
using Tessera.Trainers;
using Tessera.Trainers.Evaluation;

namespace Tessera.Stages;

/// <summary>The `classifier` stage: the reference CNN that evaluation uses to judge generated digits.</summary>
public static class ClassifierStage
{
    public static StageOutcome Run(StageContext context)
    {
        DatasetManifest manifest = StageData.Manifest(context);
        ImageBatch train = ImageShard.Concatenate(StageData.Images(context, manifest, "train"));
        ImageBatch heldOut = ImageShard.Concatenate(StageData.Images(context, manifest, "heldout"));

        var device = TorchRuntime.ResolveDevice(context.Spec.Device);
        // The classifier draws its batches by step itself, so a restored step is also the data position.
        using var trainer = StageResume.Latest(context, s => DigitClassifierTrainer.LoadCheckpoint(s, device))
            ?? new DigitClassifierTrainer(FromStage(context.Stage, manifest), device, context.Spec.Seed);
        int resumedFrom = trainer.Step;
        double finalLoss = trainer.Train(train, context.Progress, context.Cancellation, context.Parallel,
            StageResume.Periodic(context, s => trainer.SaveCheckpoint(s, context.ResolvedSpecYaml)));
        if (!context.IsLeader) return StageOutcome.FollowerDone;
        double accuracy = trainer.Accuracy(heldOut);
        return new StageOutcome(StageResume.Note(resumedFrom, new Dictionary<string, double>
        {
            ["heldout_accuracy"] = accuracy,
            ["final_loss"] = finalLoss,
            ["steps"] = trainer.Step,
            ["skipped_steps"] = trainer.NonFinite.SkippedSteps,
        }), [StageData.WriteCheckpoint(context, stream => trainer.SaveCheckpoint(stream, context.ResolvedSpecYaml), resumableAtStep: trainer.Step)]);
    }

    public static DigitClassifierConfig FromStage(StageSpec stage, DatasetManifest manifest) =>
        SettingBinder.Bind(stage, new DigitClassifierConfig { ImageChannels = manifest.Channels, Classes = manifest.ClassNames.Count });
}
