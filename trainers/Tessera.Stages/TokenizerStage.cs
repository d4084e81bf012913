using Tessera.Infra.Storage;
using Tessera.Infra.Data;
using Tessera.Infra.Images;
using Tessera.Infra.Specs;
using Tessera.Trainers;
using Tessera.Trainers.Tokenizers;

namespace Tessera.Stages;

/// <summary>The `tokenizer` stage: trains a VQ tokenizer, then writes its checkpoint and recon.png.</summary>
public static class TokenizerStage
{
    public static StageOutcome Run(StageContext context)
    {
        DatasetManifest manifest = StageData.Manifest(context);
        var train = StageData.Images(context, manifest, "train");
        var heldOut = StageData.Images(context, manifest, "heldout");

        VqTokenizerConfig config = FromStage(context.Stage, manifest);
        var device = TorchRuntime.ResolveDevice(context.Spec.Device);
        using var trainer = StageResume.Latest(context, s => VqTokenizerTrainer.LoadCheckpoint(s, device))
            ?? new VqTokenizerTrainer(config, device, context.Spec.Seed);
        int resumedFrom = trainer.Step;
        var source = new ShardBatchSource(train, (ulong)context.Spec.Seed, context.Parallel, position: (long)resumedFrom * config.BatchSize);
        TokenizerReport report = trainer.Train(source, ImageShard.Concatenate(heldOut), context.Progress, context.Cancellation, context.Parallel,
            StageResume.Periodic(context, s => trainer.SaveCheckpoint(s, context.ResolvedSpecYaml)));
        if (!context.IsLeader) return StageOutcome.FollowerDone;

        var artifacts = new List<ArtifactRef>
        {
            StageData.WriteCheckpoint(context, stream => trainer.SaveCheckpoint(stream, context.ResolvedSpecYaml), resumableAtStep: trainer.Step),
            StageData.Write(context, context.Artifacts.Reconstructions, ReconstructionGrid(trainer, report, device)),
        };
        var metrics = new Dictionary<string, double>
        {
            ["heldout_psnr_db"] = report.HeldOutPsnr,
            ["codebook_usage"] = report.CodebookUsage,
            ["perplexity"] = report.Perplexity,
            ["final_loss"] = report.FinalLoss,
            ["steps"] = report.Steps,
            ["skipped_steps"] = trainer.NonFinite.SkippedSteps,
        };
        return new StageOutcome(StageResume.Note(resumedFrom, metrics), artifacts);
    }

    /// <summary>
    /// recon.png: held-out originals on top, then their reconstructions; a multi-scale tokenizer adds one row per
    /// scale, rebuilt from scales 1..k, so the picture reads coarse to fine down to the full reconstruction.
    /// </summary>
    static byte[] ReconstructionGrid(VqTokenizerTrainer trainer, TokenizerReport report, TorchSharp.torch.Device device)
    {
        if (trainer.Model is not MsVqTokenizer)
            return ImageGrid.RenderComparison(report.Originals, report.Reconstructions, columns: report.Originals.Count);
        var rows = new List<ImageBatch> { report.Originals };
        rows.AddRange(TokenizerInference.CoarseToFine(trainer.Model, report.Originals, device));
        return ImageGrid.RenderPng(rows, columns: report.Originals.Count);
    }

    /// <summary>Maps the validated stage settings onto the trainer's typed configuration.</summary>
    /// <summary>The stage's settings on the dataset's image shape; a non-square dataset is refused, naming it.</summary>
    public static VqTokenizerConfig FromStage(StageSpec stage, DatasetManifest manifest)
    {
        if (manifest.Height != manifest.Width)
            throw new InvalidDataException($"dataset '{manifest.Name}' is {manifest.Width}x{manifest.Height}; tokenizers take square images " +
                "(import it again with --size S to resize and centre-crop)");
        return SettingBinder.Bind(stage, new VqTokenizerConfig { ImageChannels = manifest.Channels, ImageSize = manifest.Height });
    }
}
