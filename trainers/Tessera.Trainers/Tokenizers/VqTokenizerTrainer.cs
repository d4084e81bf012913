using Tessera.Trainers.Distributed;
using Tessera.Infra.Data;
using Tessera.Trainers.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers.Tokenizers;

/// <summary>
/// Trains either tokenizer kind (<see cref="VqTokenizer"/> or <see cref="MsVqTokenizer"/>, chosen by
/// <c>Config.Kind</c>): reconstruction MSE (+ optional L1) + the quantizer's own loss terms, EMA or SimVQ codebook,
/// AdamW with warmup and cosine decay. Runs synchronously on the caller's thread; one
/// instance per thread. Same config, seed and batch stream => bit-identical weights and metrics.
/// </summary>
public sealed partial class VqTokenizerTrainer : ModelTrainer<VqTokenizerConfig, TokenizerModel>
{
    public const string Stage = "tokenizer";

    /// <param name="config">Its shape defaults are resolved (<see cref="VqTokenizerConfig.Resolved"/>), so <see cref="ModelTrainer{TConfig, TModel}.Config"/> and the checkpoint record the downsample and schedule used.</param>
    public VqTokenizerTrainer(VqTokenizerConfig config, Device device, long seed)
        : base(Stage, config?.Resolved()!, device, seed, generator => CreateModel(config!, generator))
    {
    }

    protected override string CheckpointFormatName => CheckpointFormat;

    /// <summary>
    /// Trains from <see cref="Step"/> to <c>Config.Steps</c>, then evaluates on <paramref name="heldOut"/>.
    /// Reports progress every <c>LogEvery</c> steps and on the last step; checks <paramref name="ct"/> every step;
    /// on a non-finite loss or gradient skips the step or throws <see cref="TrainingDivergedException"/> (<c>OnNonFinite</c>).
    /// </summary>
    public TokenizerReport Train(IBatchSource train, ImageBatch heldOut, IProgress<TrainingProgress>? progress, CancellationToken ct,
        DataParallel? parallel = null, PeriodicCheckpoint? checkpoint = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(heldOut);
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckImages(heldOut, nameof(heldOut));
        // An EMA codebook moves by each rank's own batch statistics, outside the gradients the ranks average,
        // so the replicas would drift apart; SimVQ's codebook is learnt by gradient and stays in step.
        if (parallel is not null && Config.Quantizer != VqTokenizerConfig.QuantizerSimVq)
            throw new NotSupportedException($"a tokenizer with quantizer '{Config.Quantizer}' cannot train on several workers; use quantizer: simvq or workers: 1");
        using var sync = DataParallel.Start(parallel, _model.parameters());
        var training = new TrainingStep(_optimizer, _guard, parallel, sync, Config.BatchSize, gradClip: 0);
        var reporter = new ProgressReporter(Stage, Config.Steps, Config.LogEvery, progress);
        int restartedSinceReport = 0;
        _model.train();
        while (Step < Config.Steps)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            var batch = train.Next(Config.BatchSize);
            CheckImages(batch, "training batch");
            var x_BCHW = ImageTensors.ToTensor(batch, _device);

            double lr = LearningRateAt(Step);
            // The progress metrics below describe the last micro-batch when this rank accumulates several.
            TokenizerForward fwd = default;
            Tensor mse = null!;
            int restarted = 0;
            var verdict = training.Take(Step + 1, lr, micro =>
            {
                var x_MCHW = x_BCHW.narrow(0, micro.Start, micro.Count);
                fwd = _model.Forward(x_MCHW, updateCodebook: true, _generator);
                restarted += fwd.RestartedCodes;
                mse = nn.functional.mse_loss(fwd.Reconstruction, x_MCHW);
                var microLoss = mse + fwd.QuantizerLoss;
                if (Config.L1Weight > 0) microLoss = microLoss + Config.L1Weight * nn.functional.l1_loss(fwd.Reconstruction, x_MCHW);
                return microLoss;
            }, () => $"Learning rate was {lr:G3}; lower it (config learning_rate {Config.LearningRate:G3}) or check the input images.");
            if (verdict.Apply) LastLoss = verdict.Loss;
            Step++;
            reporter.Count(Config.BatchSize);
            restartedSinceReport += restarted;

            if (reporter.Due(Step))
            {
                long batchCodes = fwd.Indices.unique().Item1.shape[0];
                reporter.Report(Step, LastLoss, new Dictionary<string, double>
                {
                    ["learning_rate"] = lr,
                    ["recon_mse"] = mse.item<float>(),
                    ["quantizer_loss"] = fwd.QuantizerLoss.item<float>(),
                    ["batch_codebook_usage"] = batchCodes / (double)Config.CodebookSize,
                    ["restarted_codes"] = restartedSinceReport,
                    ["skipped_steps"] = _guard.SkippedSteps,
                });
                restartedSinceReport = 0;
            }
            checkpoint?.AfterStep(Step, Config.Steps);
        }

        var eval = Evaluate(heldOut);
        var preview = ImageTensors.SpreadIndices(heldOut.Count, Config.PreviewCount);
        return new TokenizerReport(eval.Psnr, eval.CodebookUsage, eval.Perplexity, LastLoss, Step,
            ImageTensors.Select(heldOut, preview), ImageTensors.Select(eval.Reconstructions, preview));
    }

    /// <summary>Reconstructs every image of <paramref name="images"/> through the codebook and measures it.</summary>
    public TokenizerEvaluation Evaluate(ImageBatch images)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckImages(images, nameof(images));
        if (images.Count == 0) throw new ArgumentException("no images to evaluate", nameof(images));
        _model.eval();
        var perImageMse = new List<double>(images.Count);
        var codes = new List<long>(images.Count * _model.TokenCount);
        var pixels = new byte[images.Pixels.Length];
        try
        {
            for (int start = 0; start < images.Count; start += Config.EvalBatchSize)
            {
                using var scope = torch.NewDisposeScope();
                using var _ = no_grad();
                int count = Math.Min(Config.EvalBatchSize, images.Count - start);
                var chunk = ImageTensors.Slice(images, start, count);
                var x_BCHW = ImageTensors.ToTensor(chunk, _device);
                var idx_BL = _model.Encode(x_BCHW);
                var recon_BCHW = _model.Decode(idx_BL);
                perImageMse.AddRange(TokenizerMetrics.PerImageMse(recon_BCHW, x_BCHW));
                codes.AddRange(idx_BL.cpu().data<long>().ToArray());
                var bytes = ImageTensors.ToImageBatch(recon_BCHW, chunk.Labels);
                Array.Copy(bytes.Pixels, 0, pixels, (long)start * images.PixelsPerImage, bytes.Pixels.Length);
            }
        }
        finally
        {
            _model.train();
        }
        var counts = TokenizerMetrics.CodeCounts(codes, Config.CodebookSize);
        double meanMse = perImageMse.Average();
        return new TokenizerEvaluation(
            TokenizerMetrics.MeanPsnr(perImageMse), TokenizerMetrics.Psnr(meanMse), meanMse,
            TokenizerMetrics.CodebookUsage(counts), TokenizerMetrics.Perplexity(counts),
            images with { Pixels = pixels, Labels = (int[])images.Labels.Clone() });
    }

    private void CheckImages(ImageBatch batch, string what) => _model.RequireShape(batch, what);

    /// <summary>A fresh model of the kind the config names, weights drawn from <paramref name="generator"/>.</summary>
    public static TokenizerModel CreateModel(VqTokenizerConfig config, Generator generator) => config.Kind switch
    {
        VqTokenizerConfig.KindVq => new VqTokenizer(config, generator),
        VqTokenizerConfig.KindMsVq => new MsVqTokenizer(config, generator),
        _ => throw new ArgumentException($"unknown tokenizer kind '{config.Kind}'"),
    };
}
