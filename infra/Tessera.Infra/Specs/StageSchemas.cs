namespace Tessera.Infra.Specs;

/// <summary>
/// One stage setting, declared once: its key, type, default, allowed range and one-line meaning, and the property of the
/// stage's trainer config it fills. The spec's validation, `tessera schema`, the README's tables and the stage layer's
/// binding into the config (Tessera.Stages' SettingBinder) all read this one record. A setting with
/// <see cref="RefersTo"/> names another stage of that kind: an earlier one in the same spec, or
/// "&lt;experiment-id&gt;/&lt;stage&gt;" of another experiment; left empty it means the nearest earlier one.
/// </summary>
/// <param name="Fills">The config property this setting fills: null means the key in PascalCase (grad_clip fills
/// GradClip); <see cref="StageOnly"/> means none, the stage itself reads it (references, workers, checkpoints, sampling
/// for evaluation).</param>
/// <param name="MinExclusive">The value must lie above <see cref="Min"/>, not on it (a learning rate of 0 trains nothing).</param>
/// <param name="MaxExclusive">The value must lie below <see cref="Max"/>, not on it.</param>
public sealed record SettingSchema(string Key, SettingType Type, object Default, string Doc,
    double Min = double.NegativeInfinity, double Max = double.PositiveInfinity, string[]? Choices = null,
    string? RefersTo = null, string? Fills = null, bool MinExclusive = false, bool MaxExclusive = false)
{
    /// <summary>The <see cref="Fills"/> of a setting no trainer config has.</summary>
    public const string StageOnly = "";

    /// <summary>The config property this setting fills, or null if the stage reads it itself.</summary>
    public string? Property => RefersTo is not null || Fills == StageOnly ? null
        : Fills ?? string.Concat(Key.Split('_').Select(word => char.ToUpperInvariant(word[0]) + word[1..]));
}

public enum SettingType { Integer, Number, Text }

/// <summary>
/// Every stage kind the platform knows, with the settings each accepts: the single source of the spec schema
/// (the README's tables and the trainers' configs follow it; a test checks the tokenizer's defaults agree).
/// </summary>
public static partial class StageSchemas
{
    /// <summary>What a training loop does on a NaN or infinity in a step's loss or gradient (trainers' NonFiniteGuard).</summary>
    static SettingSchema OnNonFinite => new("on_nonfinite", SettingType.Text, "stop",
        "a NaN or infinite loss or gradient: stop fails the stage naming the step and the first such parameter; skip drops the step and counts it (skipped_steps)",
        Choices: ["stop", "skip"], Fills: "OnNonFinite");

    /// <summary>The data-parallel settings of every training stage (pretraining and alignment).</summary>
    static SettingSchema[] DataParallel =>
    [
        new("workers", SettingType.Integer, 1, "data-parallel ranks averaging gradients over the gRPC ring; must divide batch_size", Min: 1, Max: 16, Fills: SettingSchema.StageOnly),
        new("min_workers", SettingType.Integer, 0, "fewest ranks a (re)start may run on when fewer than workers slots are free, each rank then accumulating the gradients of several workers' slices (same global batch, same steps); 0 = workers: wait for all the slots", Min: 0, Max: 16, Fills: SettingSchema.StageOnly),
        new("peer_timeout_seconds", SettingType.Number, 30.0, "with workers > 1: how long a rank waits for a missing peer before the stage fails", Min: 1, Max: 3600, Fills: SettingSchema.StageOnly),
    ];

    /// <summary>Settings every training stage has; only their defaults differ by kind.</summary>
    static SettingSchema[] Training(int steps, int batchSize, double lr, int logEvery, int warmup = 50, double weightDecay = 0.0,
        double minLrFraction = 0.05) =>
    [
        new("steps", SettingType.Integer, steps, "optimizer steps in this stage", Min: 1),
        new("batch_size", SettingType.Integer, batchSize, "examples per step, all workers together (each takes an equal slice)", Min: 1, Max: 65536),
        new("lr", SettingType.Number, lr, "peak learning rate", Min: 0, Max: 10, Fills: "LearningRate", MinExclusive: true),
        new("warmup_steps", SettingType.Integer, warmup, "linear learning-rate warm-up before the cosine decay", Min: 0),
        new("min_lr_fraction", SettingType.Number, minLrFraction, "the cosine decay ends at this fraction of the peak rate", Min: 0, Max: 1, Fills: "MinLearningRateFraction"),
        new("weight_decay", SettingType.Number, weightDecay, "AdamW weight decay", Min: 0, Max: 1),
        new("log_every", SettingType.Integer, logEvery, "steps between progress reports (rows of metrics.jsonl)", Min: 1),
        .. DataParallel,
        new("checkpoint_every", SettingType.Integer, 250, "steps between resumable checkpoints (an interrupted stage resumes from the newest; 0 = none)", Min: 0, Fills: SettingSchema.StageOnly),
        OnNonFinite,
    ];

    static readonly SettingSchema[] Tokenizer =
    [
        new("model", SettingType.Text, "vq", "vq: one token grid (LlamaGen); msvq: multi-scale residual token maps (VAR)", Choices: ["vq", "msvq"], Fills: "Kind"),
        new("quantizer", SettingType.Text, "ema", "how codes stay in use: ema (EMA codebook, dead-code restart) or simvq (frozen codes through a learned linear map)", Choices: ["ema", "simvq"]),
        new("downsample", SettingType.Integer, 0, "encoder stride: 4, 8 or 16 (2, 3 or 4 stride-2 stages); the token grid side is the image side / downsample; 0 = the smallest that leaves a grid of at most 8x8 (28 -> 7x7, 32 -> 8x8, 64 -> 8x8)", Min: 0, Max: 16),
        new("scales", SettingType.Text, "", "msvq only: token-map sides coarse to fine, ending at the grid side; empty = derived from the grid side (7: 1,2,3,4,5,7; 8: 1,2,3,4,6,8)", Fills: "ScaleSchedule"),
        new("phi_convs", SettingType.Integer, 4, "msvq only: partially shared refinement convs", Min: 1, Max: 16),
        new("phi_residual_ratio", SettingType.Number, 0.5, "msvq only: phi(h) = (1 - r) h + r conv3x3(h)", Min: 0, Max: 1),
        new("codebook_size", SettingType.Integer, 256, "number of codes (the generator's vocabulary)", Min: 2, Max: 65536),
        new("code_dim", SettingType.Integer, 8, "dimension of each code (LlamaGen uses 8)", Min: 1, Max: 512),
        new("hidden_channels", SettingType.Integer, 32, "conv width at full resolution", Min: 1, Max: 1024),
        new("latent_channels", SettingType.Integer, 64, "conv width at the downsampled resolutions", Min: 1, Max: 2048),
        new("residual_blocks", SettingType.Integer, 1, "residual blocks at the latent, in encoder and decoder", Min: 0, Max: 16),
        new("commitment", SettingType.Number, 0.25, "weight of the commitment loss", Min: 0, Max: 100, Fills: "CommitmentWeight"),
        new("ema_decay", SettingType.Number, 0.8, "EMA decay of the codebook updates", Min: 0, Max: 1, MinExclusive: true, MaxExclusive: true),
        new("dead_code_threshold", SettingType.Number, 2.0, "a code whose EMA count falls below this is restarted", Min: 0),
        new("l1_weight", SettingType.Number, 0.0, "weight of an L1 term added to the MSE reconstruction loss", Min: 0, Max: 100),
    ];

    static readonly SettingSchema[] Tokenize =
    [
        new("tokenizer", SettingType.Text, "", "the tokenizer stage whose checkpoint encodes the images", RefersTo: "tokenizer"),
        new("batch_size", SettingType.Integer, 500, "images per encoder forward pass (memory, not results)", Min: 1, Max: 65536),
    ];

    static readonly SettingSchema[] Generator =
    [
        new("model", SettingType.Text, "gpt", "gpt: raster next-token transformer (LlamaGen-style), one forward pass per token; var: next-scale (VAR-style), one pass per scale, needs a multi-scale (msvq) tokenizer", Choices: ["gpt", "var"]),
        new("tokenizer", SettingType.Text, "", "the tokenizer stage whose tokens this generator learns", RefersTo: "tokenizer"),
        new("model_dim", SettingType.Integer, 128, "transformer width", Min: 8, Max: 4096),
        new("layers", SettingType.Integer, 4, "transformer blocks", Min: 1, Max: 64),
        new("heads", SettingType.Integer, 4, "attention heads (must divide model_dim)", Min: 1, Max: 64),
        new("mlp_ratio", SettingType.Integer, 4, "MLP hidden width as a multiple of model_dim", Min: 1, Max: 16),
        new("dropout", SettingType.Number, 0.1, "dropout in attention and MLP", Min: 0, Max: 0.9),
        new("class_dropout", SettingType.Number, 0.1, "share of examples trained with the null class (enables guidance)", Min: 0, Max: 1, MaxExclusive: true),
        new("grad_clip", SettingType.Number, 1.0, "global gradient-norm clip (0 = off)", Min: 0, Max: 1000),
        new("preview_cfg", SettingType.Number, 2.0, "guidance scale of the sample grid written after training", Min: 0, Max: 100, Fills: SettingSchema.StageOnly),
    ];

    static readonly SettingSchema[] Classifier =
    [
        new("channels", SettingType.Integer, 16, "conv width of the first block (doubles once)", Min: 1, Max: 512),
        new("feature_dim", SettingType.Integer, 128, "penultimate features: what the Fréchet distance compares", Min: 2, Max: 4096),
        new("dropout", SettingType.Number, 0.3, "dropout before the output layer", Min: 0, Max: 0.9),
        new("max_shift", SettingType.Integer, 2, "random translation augmentation, in pixels", Min: 0, Max: 8),
    ];

    static readonly SettingSchema[] Eval =
    [
        new("generator", SettingType.Text, "", "the generator stage to sample", RefersTo: "generator"),
        new("classifier", SettingType.Text, "", "the classifier stage that judges the samples", RefersTo: "classifier"),
        new("samples_per_class", SettingType.Integer, 100, "samples generated per class, for each of guided and guidance-free", Min: 1, Max: 100000),
        new("cfg", SettingType.Number, 2.0, "guidance scale of the guided run", Min: 0, Max: 100),
        new("temperature", SettingType.Number, 1.0, "sampling temperature", Min: 0.01, Max: 10),
        new("top_k", SettingType.Integer, 0, "sample among the k most likely tokens (0 = all)", Min: 0),
        new("top_p", SettingType.Number, 1.0, "nucleus sampling mass (1 = off)", Min: 0.01, Max: 1),
        new("batch_size", SettingType.Integer, 200, "sequences generated per batch", Min: 1, Max: 65536),
    ];

    /// <summary>The kinds whose checkpoint is a generator: pretraining, and the alignment stages that post-train one.</summary>
    public static readonly IReadOnlySet<string> GeneratorKinds = new HashSet<string> { "generator", "cca", "ddo", "dpo", "rl" };

    /// <summary>Whether a stage of <paramref name="kind"/> leaves a checkpoint a <c>RefersTo = target</c> setting can name.</summary>
    public static bool Makes(string kind, string target) => kind == target || (target == "generator" && GeneratorKinds.Contains(kind));

    /// <summary>Settings of each stage kind, common ones first.</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyList<SettingSchema>> Kinds =
        new Dictionary<string, IReadOnlyList<SettingSchema>>
        {
            ["tokenizer"] = [.. Training(steps: 1000, batchSize: 64, lr: 2e-3, logEvery: 50), .. Tokenizer],
            ["tokenize"] = Tokenize,
            ["generator"] = [.. Training(steps: 2000, batchSize: 64, lr: 1e-3, logEvery: 50, warmup: 100, weightDecay: 0.05), .. Generator],
            ["classifier"] = [.. Training(steps: 1200, batchSize: 64, lr: 2e-3, logEvery: 100, warmup: 50, weightDecay: 1e-4, minLrFraction: 0), .. Classifier],
            ["eval"] = Eval,
            ["cca"] = Alignment(Cca, steps: 500, batchSize: 64, beta: 0.02),
            ["ddo"] = Alignment(Ddo, steps: 500, batchSize: 64, beta: 0.02),
            ["dpo"] = Alignment(Dpo, steps: 500, batchSize: 64, beta: 0.1),
            ["rl"] = Alignment(Rl, steps: 500, batchSize: 64, beta: null),
        };
}
