namespace Tessera.Trainers.Tokenizers;

/// <summary>
/// Every hyperparameter of the VQ tokenizer and its training loop, declared once. The image shape comes from the
/// dataset (no default); the other defaults are the quickstart values, measured on 28x28 MNIST on a 2-core CPU at
/// about 25 dB held-out PSNR and full codebook use in ~70 s. Shape rules (downsample, grid, scales): VqTokenizerConfig.Shape.cs.
/// </summary>
public sealed partial record VqTokenizerConfig : ITrainingSchedule
{
    public const string KindVq = "vq";
    public const string KindMsVq = "msvq";
    public const string QuantizerEma = "ema";
    public const string QuantizerSimVq = "simvq";

    // ---- kind ----
    /// <summary>"vq": one token grid (LlamaGen); "msvq": multi-scale residual token maps (VAR).</summary>
    public string Kind { get; init; } = KindVq;
    /// <summary>How codes stay in use: "ema" (EMA codebook + dead-code restart) or "simvq" (frozen codes, learned linear map).</summary>
    public string Quantizer { get; init; } = QuantizerEma;

    // ---- data (from the dataset manifest; 0 until the stage fills it in) ----
    /// <summary>Input channels: 1 for grayscale, 3 for colour.</summary>
    public int ImageChannels { get; init; }
    /// <summary>Side of the square input images.</summary>
    public int ImageSize { get; init; }

    // ---- model ----
    /// <summary>
    /// Encoder stride: 4, 8 or 16 (2, 3 or 4 stride-2 stages); the token grid side is ImageSize / Downsample.
    /// 0 takes <see cref="DefaultDownsample"/>(ImageSize): the grid at most 8x8 where 4, 8 or 16 allows (28 -> 7x7, 64 -> 8x8).
    /// </summary>
    public int Downsample { get; init; }
    /// <summary>Width at full resolution and, in the decoder, at half resolution, where convs cost the most; kept narrow for CPU speed.</summary>
    public int HiddenChannels { get; init; } = 32;
    /// <summary>Width from the first downsample on (every deeper stage too): there the network does most of its thinking for little compute.</summary>
    public int LatentChannels { get; init; } = 64;
    /// <summary>Residual blocks at the latent grid, in the encoder and again in the decoder.</summary>
    public int ResidualBlocks { get; init; } = 1;
    /// <summary>Code vectors in the codebook (the generator's vocabulary); 256 fills easily on 9k digits.</summary>
    public int CodebookSize { get; init; } = 256;
    /// <summary>Code dimension: LlamaGen's low-dimensional lookup (8) keeps cosine search easy and usage high.</summary>
    public int CodeDim { get; init; } = 8;

    // ---- multi-scale (msvq only) ----
    /// <summary>Token-map sides coarse to fine, comma-separated, strictly increasing; the last must equal the grid side.
    /// Empty takes <see cref="DefaultScaleSchedule"/>(grid side). A string so the record keeps value equality and the
    /// checkpoint's config.json stays plain.</summary>
    public string ScaleSchedule { get; init; } = "";
    /// <summary>Partially shared phi convs (VAR's share_quant_resi): each scale uses the one nearest its relative depth.</summary>
    public int PhiConvs { get; init; } = 4;
    /// <summary>phi(h) = (1 - r) h + r conv3x3(h); VAR's 0.5.</summary>
    public double PhiResidualRatio { get; init; } = 0.5;

    // ---- quantizer ----
    /// <summary>Weight of the commitment term mean((sg[q] - z)^2), as in VQ-VAE and LlamaGen.</summary>
    public double CommitmentWeight { get; init; } = 0.25;
    /// <summary>EMA decay of code counts and sums (lucidrains' value for fast-moving small codebooks).</summary>
    public double EmaDecay { get; init; } = 0.8;
    /// <summary>A code whose EMA count falls below this is restarted on a random latent of the batch.</summary>
    public double DeadCodeThreshold { get; init; } = 2.0;

    // ---- loss ----
    /// <summary>Weight of an L1 term added to the MSE reconstruction loss; sharpens strokes on near-binary digits.</summary>
    public double L1Weight { get; init; } = 0.0;

    // ---- optimisation ----
    /// <summary>Optimizer steps: about 7 epochs of 9k digits, ~70 s on 2 quiet CPU cores, so 2x contention still fits 3.5 min.</summary>
    public int Steps { get; init; } = 1000;
    /// <summary>Images per step; 64 gives 3,136 latents a step, about 12 per code for the EMA statistics.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Peak AdamW learning rate; small convnets on MNIST tolerate a high rate.</summary>
    public double LearningRate { get; init; } = 2e-3;
    /// <summary>Linear warmup steps before the peak rate, so early EMA restarts see a stable encoder.</summary>
    public int WarmupSteps { get; init; } = 50;
    /// <summary>Cosine decay ends at this fraction of the peak rate; the final low-rate steps polish PSNR.</summary>
    public double MinLearningRateFraction { get; init; } = 0.05;
    /// <summary>AdamW (decoupled) weight decay; zero because the small model does not overfit 9k digits in 7 epochs.</summary>
    public double WeightDecay { get; init; } = 0.0;

    /// <summary>On a NaN or infinite loss or gradient: stop the stage (<see cref="NonFinitePolicy.Stop"/>) or skip the step (<see cref="NonFinitePolicy.Skip"/>).</summary>
    public string OnNonFinite { get; init; } = NonFinitePolicy.Stop;
    // ---- reporting ----
    /// <summary>Report progress every this many steps (and always on the last).</summary>
    public int LogEvery { get; init; } = 50;
    /// <summary>Held-out images per evaluation forward pass; bounds memory, not results.</summary>
    public int EvalBatchSize { get; init; } = 250;
    /// <summary>Held-out images (spread evenly across the set) returned with their reconstructions for a picture grid.</summary>
    public int PreviewCount { get; init; } = 20;

    /// <summary>Throws if a value is out of range, naming it.</summary>
    public void Validate()
    {
        NonFinitePolicy.Validate(OnNonFinite);
        if (Kind is not (KindVq or KindMsVq)) throw new ArgumentException($"Kind '{Kind}' is not '{KindVq}' or '{KindMsVq}'");
        if (Quantizer is not (QuantizerEma or QuantizerSimVq))
            throw new ArgumentException($"Quantizer '{Quantizer}' is not '{QuantizerEma}' or '{QuantizerSimVq}'");
        ValidateShape();
        if (PhiConvs <= 0) throw new ArgumentOutOfRangeException(nameof(PhiConvs), PhiConvs, "must be positive");
        if (!(PhiResidualRatio >= 0 && PhiResidualRatio <= 1))
            throw new ArgumentOutOfRangeException(nameof(PhiResidualRatio), PhiResidualRatio, "must be in [0, 1]");
        static void Positive(int value, string name)
        {
            if (value <= 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive");
        }
        Positive(HiddenChannels, nameof(HiddenChannels));
        Positive(LatentChannels, nameof(LatentChannels));
        Positive(CodebookSize, nameof(CodebookSize));
        Positive(CodeDim, nameof(CodeDim));
        Positive(Steps, nameof(Steps));
        Positive(BatchSize, nameof(BatchSize));
        Positive(LogEvery, nameof(LogEvery));
        Positive(EvalBatchSize, nameof(EvalBatchSize));
        // Upper bounds as the spec schema's: a config read from a checkpoint must not ask for more than a spec could.
        ConfigBounds.AtMost(
            (ImageChannels, 4, nameof(ImageChannels)), (ImageSize, 4096, nameof(ImageSize)), (HiddenChannels, 1024, nameof(HiddenChannels)),
            (LatentChannels, 2048, nameof(LatentChannels)), (CodebookSize, 65536, nameof(CodebookSize)), (CodeDim, 512, nameof(CodeDim)),
            (ResidualBlocks, 16, nameof(ResidualBlocks)), (PhiConvs, 16, nameof(PhiConvs)));
        if (ResidualBlocks < 0) throw new ArgumentOutOfRangeException(nameof(ResidualBlocks), ResidualBlocks, "must be >= 0");
        if (WarmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(WarmupSteps), WarmupSteps, "must be >= 0");
        if (PreviewCount < 0) throw new ArgumentOutOfRangeException(nameof(PreviewCount), PreviewCount, "must be >= 0");
        if (!(EmaDecay > 0 && EmaDecay < 1)) throw new ArgumentOutOfRangeException(nameof(EmaDecay), EmaDecay, "must be in (0, 1)");
        if (!(LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "must be positive");
        if (!(MinLearningRateFraction >= 0 && MinLearningRateFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(MinLearningRateFraction), MinLearningRateFraction, "must be in [0, 1]");
        if (!(CommitmentWeight >= 0)) throw new ArgumentOutOfRangeException(nameof(CommitmentWeight), CommitmentWeight, "must be >= 0");
        if (!(DeadCodeThreshold >= 0)) throw new ArgumentOutOfRangeException(nameof(DeadCodeThreshold), DeadCodeThreshold, "must be >= 0");
        if (!(L1Weight >= 0)) throw new ArgumentOutOfRangeException(nameof(L1Weight), L1Weight, "must be >= 0");
        if (!(WeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "must be >= 0");
    }
}
