using Tessera.Trainers.Distributed;
using Tessera.Infra.Data;
using Tessera.Trainers.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers.Evaluation;

/// <summary>
/// Trains the reference <see cref="DigitClassifier"/> (cross-entropy, random shifts, AdamW with warmup and
/// cosine decay) and runs it for evaluation: probabilities, penultimate features, accuracy. Batches come
/// from a <see cref="DeterministicSampler"/> seeded like the model, so a seed fixes the whole run.
/// </summary>
public sealed partial class DigitClassifierTrainer : ModelTrainer<DigitClassifierConfig, DigitClassifier>
{
    public const string Stage = "classifier";

    public DigitClassifierTrainer(DigitClassifierConfig config, Device device, long seed)
        : base(Stage, config, device, seed, generator => new DigitClassifier(config, generator))
    {
    }

    protected override string CheckpointFormatName => CheckpointFormat;

    /// <summary>
    /// Trains from <see cref="Step"/> to <c>Config.Steps</c> on <paramref name="train"/>; returns the last loss. With
    /// <paramref name="parallel"/>, this rank takes its slice of each global batch and the ranks average gradients.
    /// </summary>
    public double Train(ImageBatch train, IProgress<TrainingProgress>? progress, CancellationToken ct, DataParallel? parallel = null,
        PeriodicCheckpoint? checkpoint = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckImages(train);
        int[] globalRows = GradientAccumulation.GlobalRows(parallel, Config.BatchSize); // this rank's rows of each global batch
        using var sync = DataParallel.Start(parallel, _model.parameters());
        var training = new TrainingStep(_optimizer, _guard, parallel, sync, Config.BatchSize, gradClip: 0);
        var reporter = new ProgressReporter(Stage, Config.Steps, Config.LogEvery, progress);
        var sampler = new DeterministicSampler(train.Count, (ulong)Seed);
        _model.train();
        while (Step < Config.Steps)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            // The data position is a function of the step, so a resumed run sees exactly the batches it would have.
            int[] global = sampler.Indices((long)Step * Config.BatchSize, Config.BatchSize);
            var batch = ImageTensors.Select(train, globalRows.Select(row => global[row]).ToArray());
            var x_BCHW = Shift(ImageTensors.ToTensor(batch, _device), globalRows);
            var y_B = tensor(batch.Labels.Select(l => (long)l).ToArray()).to(_device);
            double lr = LearningRateAt(Step);
            var verdict = training.Take(Step + 1, lr,
                micro => nn.functional.cross_entropy(_model.Logits(x_BCHW.narrow(0, micro.Start, micro.Count)), y_B.narrow(0, micro.Start, micro.Count)),
                () => $"Learning rate was {lr:G3}; lower it.");
            if (verdict.Apply) LastLoss = verdict.Loss;
            Step++;
            reporter.Count(Config.BatchSize);
            if (reporter.Due(Step))
                reporter.Report(Step, LastLoss, new Dictionary<string, double>
                {
                    ["learning_rate"] = lr,
                    ["skipped_steps"] = _guard.SkippedSteps,
                });
            checkpoint?.AfterStep(Step, Config.Steps);
        }
        return LastLoss;
    }

    /// <summary>Class probabilities (N, K), float64 on the CPU, of images in [0, 1] (N, C, H, W).</summary>
    public Tensor Probabilities(Tensor images_NCHW) => Infer(images_NCHW, x => _model.Logits(x).softmax(-1));

    /// <summary>Penultimate features (N, F), float64 on the CPU, of images in [0, 1] (N, C, H, W).</summary>
    public Tensor Features(Tensor images_NCHW) => Infer(images_NCHW, _model.Features);

    /// <summary>Fraction of <paramref name="images"/> whose predicted class is their label.</summary>
    public double Accuracy(ImageBatch images) => AccuracyByClass(images).Overall;

    /// <summary>Per-class counts and hits on <paramref name="images"/>, for the balanced accuracy of an imbalanced set.</summary>
    public ClassAccuracyReport AccuracyByClass(ImageBatch images)
    {
        CheckImages(images);
        using var scope = torch.NewDisposeScope();
        using var probs_NK = Probabilities(ImageTensors.ToTensor(images, _device));
        return SampleMetrics.ClassAccuracyByClass(probs_NK, images.Labels);
    }

    /// <summary>Runs the model in eval mode, chunked, without gradients; result float64 on the CPU.</summary>
    private Tensor Infer(Tensor images_NCHW, Func<Tensor, Tensor> head)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        bool wasTraining = _model.training;
        _model.eval();
        try
        {
            using var _ = no_grad();
            var parts = new List<Tensor>();
            long n = images_NCHW.shape[0];
            for (long start = 0; start < n; start += Config.EvalBatchSize)
            {
                using var scope = torch.NewDisposeScope();
                var chunk = images_NCHW.narrow(0, start, Math.Min(Config.EvalBatchSize, n - start)).to(_device);
                parts.Add(head(chunk).to(float64).cpu().MoveToOuterDisposeScope());
            }
            var all = cat(parts, 0);
            foreach (var p in parts) p.Dispose();
            return all;
        }
        finally
        {
            _model.train(wasTraining);
        }
    }

    /// <summary>
    /// Moves each image by its own random offset of up to MaxShift pixels, filling with black. The offsets are
    /// drawn for the whole global batch and this rank's rows (<paramref name="globalRows"/>: the global row of each) used,
    /// so the ranks together shift exactly as one rank would.
    /// </summary>
    private Tensor Shift(Tensor x_BCHW, int[] globalRows)
    {
        int s = Config.MaxShift;
        if (s == 0) return x_BCHW;
        long b = x_BCHW.shape[0], h = x_BCHW.shape[2], w = x_BCHW.shape[3];
        var padded = nn.functional.pad(x_BCHW, new long[] { s, s, s, s });
        var offsets = randint(0, 2 * s + 1, new long[] { Config.BatchSize, 2 }, generator: _generator).data<long>().ToArray();
        var rows = new Tensor[b];
        for (int i = 0; i < b; i++)
            rows[i] = padded[i].narrow(1, offsets[2 * globalRows[i]], h).narrow(2, offsets[2 * globalRows[i] + 1], w);
        return stack(rows, 0);
    }

    private void CheckImages(ImageBatch batch)
    {
        if (batch.Channels != Config.ImageChannels)
            throw new ArgumentException($"images have {batch.Channels} channels; the classifier expects {Config.ImageChannels}");
        if (batch.Height < DigitClassifier.MinImageSide || batch.Width < DigitClassifier.MinImageSide)
            throw new ArgumentException($"images are {batch.Height}x{batch.Width}; the classifier needs at least {DigitClassifier.MinImageSide}x{DigitClassifier.MinImageSide}");
    }
}
