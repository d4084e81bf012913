namespace Tessera.Trainers.Generators;

/// <summary>
/// Every hyperparameter of a class-conditional token generator and its training loop, declared once, for both
/// kinds: the raster next-token GPT (<see cref="ModelGpt"/>) and the next-scale VAR (<see cref="ModelVar"/>),
/// which share their transformer sizes and optimisation. The token shape has no default: <see cref="ForTokens"/> fills
/// it (length, scales, vocabulary, input width) from the token set the generator trains on. The other defaults
/// were tuned on the MNIST quickstart (7x7 grid, 256 codes, 10 classes).
/// </summary>
public sealed record GeneratorConfig : ITrainingSchedule
{
    public const string ModelGpt = "gpt";
    public const string ModelVar = "var";
    // One shared array, so two default configs compare equal (record equality compares arrays by reference).
    private static readonly int[] NoScales = [];

    /// <summary><see cref="ModelGpt"/> (one token per forward pass, raster order) or <see cref="ModelVar"/> (one scale per pass).</summary>
    public string Model { get; init; } = ModelGpt;

    // ---- data (from the token set, see ForTokens) ----
    /// <summary>Token ids per image (every scale's); the GPT sees a class token plus the first Length-1 tokens. 0 until filled in.</summary>
    public int SequenceLength { get; init; }
    /// <summary>Vocabulary: the tokenizer's codebook size.</summary>
    public int CodebookSize { get; init; } = 256;
    /// <summary>Real classes; the class embedding has one more row, the null class used for guidance.</summary>
    public int Classes { get; init; } = 10;
    /// <summary>Side of each scale's token grid, coarse to fine (one for a single-scale tokenizer). VAR needs them and checks
    /// SequenceLength is the sum of their squares; the GPT only reads SequenceLength. Empty until filled in.</summary>
    public int[] Scales { get; init; } = NoScales;
    /// <summary>VAR only: width of the tokenizer's scale inputs (its code dimension).</summary>
    public int InputDim { get; init; } = 8;

    /// <summary>Forward passes to generate one image: one per token for the GPT, one per scale for VAR.</summary>
    public int ForwardPassesPerImage => Model == ModelVar ? Scales.Length : SequenceLength;

    // ---- model ----
    /// <summary>Residual width; 128 is ample for 49-token MNIST digits and keeps a step cheap on CPU.</summary>
    public int ModelDim { get; init; } = 128;
    /// <summary>Transformer blocks; depth matters more than width for coherent strokes across rows.</summary>
    public int Layers { get; init; } = 4;
    /// <summary>Attention heads (head width ModelDim/Heads = 32).</summary>
    public int Heads { get; init; } = 4;
    /// <summary>MLP hidden width as a multiple of ModelDim (GPT-2's 4).</summary>
    public int MlpRatio { get; init; } = 4;
    /// <summary>Dropout on attention output and MLP; small data (9k images) overfits without it.</summary>
    public double Dropout { get; init; } = 0.1;

    // ---- conditioning ----
    /// <summary>Probability a training label is replaced by the null class (LlamaGen's 0.1), so CFG has an unconditional model.</summary>
    public double ClassDropout { get; init; } = 0.1;

    // ---- optimisation ----
    /// <summary>Optimizer steps: about 14 epochs of 9k sequences at batch 64 (loss was still falling fast at 3 epochs).</summary>
    public int Steps { get; init; } = 2000;
    /// <summary>Sequences per step.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Peak AdamW learning rate; small transformers tolerate 1e-3 with warmup.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Linear warmup steps, so Adam's moment estimates settle before the peak rate.</summary>
    public int WarmupSteps { get; init; } = 100;
    /// <summary>Cosine decay ends at this fraction of the peak rate.</summary>
    public double MinLearningRateFraction { get; init; } = 0.05;
    /// <summary>AdamW decoupled weight decay (nanoGPT's 0.1 is for much longer runs; 0.05 here).</summary>
    public double WeightDecay { get; init; } = 0.05;
    /// <summary>Global gradient-norm clip; guards against early spikes in attention logits.</summary>
    public double GradClip { get; init; } = 1.0;

    /// <summary>On a NaN or infinite loss or gradient: stop the stage (<see cref="NonFinitePolicy.Stop"/>) or skip the step (<see cref="NonFinitePolicy.Skip"/>).</summary>
    public string OnNonFinite { get; init; } = NonFinitePolicy.Stop;
    // ---- reporting ----
    /// <summary>Report progress every this many steps (and always on the last).</summary>
    public int LogEvery { get; init; } = 50;

    /// <summary>
    /// This config with the values the tokens dictate: the tokenizer's <paramref name="scales"/> (coarse to fine; one
    /// side for a single-scale tokenizer), the sequence length they make, the vocabulary and the scale-input width.
    /// </summary>
    public GeneratorConfig ForTokens(IReadOnlyList<int> scales, int codebookSize, int inputDim)
    {
        ArgumentNullException.ThrowIfNull(scales);
        return this with { Scales = scales.ToArray(), SequenceLength = scales.Sum(s => s * s), CodebookSize = codebookSize, InputDim = inputDim };
    }

    /// <summary>Throws if a value is out of range, naming it.</summary>
    public void Validate()
    {
        static void Positive(int value, string name)
        {
            if (value <= 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive");
        }
        NonFinitePolicy.Validate(OnNonFinite);
        if (Model is not (ModelGpt or ModelVar))
            throw new ArgumentException($"model '{Model}' is not one of '{ModelGpt}', '{ModelVar}'");
        if (SequenceLength <= 0)
            throw new ArgumentOutOfRangeException(nameof(SequenceLength), SequenceLength,
                "SequenceLength must be positive: take it from the token set the generator trains on (GeneratorConfig.ForTokens)");
        if (Model == ModelVar)
        {
            if (Scales.Length == 0 || Scales.Any(s => s <= 0))
                throw new ArgumentException("Scales must be positive and non-empty: a 'var' generator takes them from its multi-scale tokenizer (GeneratorConfig.ForTokens)");
            // The class start token predicts the first scale in one position, so that scale must be 1x1.
            if (Scales[0] != 1) throw new ArgumentException($"the first scale must be 1 (a single token), not {Scales[0]}");
            Positive(InputDim, nameof(InputDim));
        }
        // Checked for the GPT too when given: a length that disagrees with the scales it came from is a wiring mistake.
        if (Scales.Length > 0 && Scales.Sum(s => s * s) != SequenceLength)
            throw new ArgumentException($"scales {string.Join(",", Scales)} make {Scales.Sum(s => s * s)} tokens, but SequenceLength is {SequenceLength}");
        Positive(CodebookSize, nameof(CodebookSize));
        Positive(Classes, nameof(Classes));
        Positive(ModelDim, nameof(ModelDim));
        Positive(Layers, nameof(Layers));
        Positive(Heads, nameof(Heads));
        Positive(MlpRatio, nameof(MlpRatio));
        Positive(Steps, nameof(Steps));
        Positive(BatchSize, nameof(BatchSize));
        Positive(LogEvery, nameof(LogEvery));
        // Upper bounds as the spec schema's (and, for the generator, on width x depth together: 1e9 parameters is 4 GB).
        ConfigBounds.AtMost(
            (ModelDim, 4096, nameof(ModelDim)), (Layers, 64, nameof(Layers)), (Heads, 64, nameof(Heads)),
            (MlpRatio, 16, nameof(MlpRatio)), (CodebookSize, 65536, nameof(CodebookSize)), (Classes, 65536, nameof(Classes)),
            (SequenceLength, 65536, nameof(SequenceLength)), (InputDim, 4096, nameof(InputDim)),
            ((long)Layers * (4 + 2 * MlpRatio) * ModelDim * ModelDim, 1_000_000_000, "Layers x ModelDim^2 parameters"));
        if (ModelDim % Heads != 0) throw new ArgumentException($"ModelDim {ModelDim} is not divisible by Heads {Heads}");
        if (WarmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(WarmupSteps), WarmupSteps, "must be >= 0");
        if (!(Dropout >= 0 && Dropout < 1)) throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "must be in [0, 1)");
        if (!(ClassDropout >= 0 && ClassDropout < 1)) throw new ArgumentOutOfRangeException(nameof(ClassDropout), ClassDropout, "must be in [0, 1)");
        if (!(LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "must be positive");
        if (!(MinLearningRateFraction >= 0 && MinLearningRateFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(MinLearningRateFraction), MinLearningRateFraction, "must be in [0, 1]");
        if (!(WeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "must be >= 0");
        if (!(GradClip >= 0)) throw new ArgumentOutOfRangeException(nameof(GradClip), GradClip, "must be >= 0 (0 = no clip)");
    }
}
