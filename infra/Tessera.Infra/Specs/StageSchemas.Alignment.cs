namespace Tessera.Infra.Specs;

/// <summary>
/// The post-training stages (cca, ddo, dpo, rl): each fine-tunes a copy of a trained generator against a frozen copy
/// of it, then evaluates both like the eval stage. Defaults are those of the trainers' PostTrainingConfig.For (a test
/// holds them equal); the objectives and their sources are in ../shared/algorithms.md.
/// </summary>
public static partial class StageSchemas
{
    // Properties, not fields: Kinds (in the other file) reads them, and static initialisers of partial files run in no set order.
    /// <summary>What every alignment stage has: its start, its judge, the optimisation, sampling and the before/after evaluation.</summary>
    static SettingSchema[] Alignment(SettingSchema[] objective, int steps, int batchSize, double? beta) =>
    [
        new("from", SettingType.Text, "", "the generator to post-train: a generator stage (or an earlier alignment stage) here, or <experiment-id>/<stage>", RefersTo: "generator"),
        new("classifier", SettingType.Text, "", "the reference classifier: judges the before/after samples and, for dpo and rl, gives the reward", RefersTo: "classifier"),
        new("steps", SettingType.Integer, steps, "optimizer steps (per round for ddo)", Min: 1),
        new("batch_size", SettingType.Integer, batchSize, "per step: sequences (cca, ddo), preference pairs (dpo) or classes each sampled group_size times (rl)", Min: 1, Max: 65536),
        new("lr", SettingType.Number, 2e-5, "peak learning rate (fine-tuning: far below pretraining's)", Min: 0, Max: 10, Fills: "LearningRate", MinExclusive: true),
        new("warmup_steps", SettingType.Integer, 10, "linear learning-rate warm-up before the cosine decay", Min: 0),
        new("min_lr_fraction", SettingType.Number, 0.1, "the cosine decay ends at this fraction of the peak rate", Min: 0, Max: 1, Fills: "MinLearningRateFraction"),
        new("weight_decay", SettingType.Number, 0.0, "AdamW weight decay", Min: 0, Max: 1),
        new("grad_clip", SettingType.Number, 1.0, "global gradient-norm clip", Min: 1e-6, Max: 1000),
        new("log_every", SettingType.Integer, 25, "steps between progress reports (rows of metrics.jsonl)", Min: 1),
        .. DataParallel,
        new("checkpoint_every", SettingType.Integer, 100, "steps between resumable checkpoints (policy, reference, optimizer, samplers' state; ddo counts steps over all rounds); an interrupted stage resumes from the newest, 0 = none", Min: 0, Fills: SettingSchema.StageOnly),
        OnNonFinite,
        .. (beta is double b ? [new SettingSchema("beta", SettingType.Number, b, "scale of the log-ratio to the reference (dpo: trl's 0.1; cca, ddo: 0.02)", Min: 1e-9, Max: 1000)] : Array.Empty<SettingSchema>()),
        .. objective,
        new("temperature", SettingType.Number, 1.0, "sampling temperature: the stage's own samples (ddo fakes, dpo candidates, rl groups) and the evaluation", Min: 0.01, Max: 10, Fills: SettingSchema.StageOnly),
        new("top_k", SettingType.Integer, 0, "sample among the k most likely tokens (0 = all), as temperature", Min: 0, Fills: SettingSchema.StageOnly),
        new("top_p", SettingType.Number, 1.0, "nucleus sampling mass (1 = off), as temperature", Min: 0.01, Max: 1, Fills: SettingSchema.StageOnly),
        new("samples_per_class", SettingType.Integer, 100, "evaluation before and after: samples per class, for each of guided and guidance-free", Min: 1, Max: 100000, Fills: SettingSchema.StageOnly),
        new("cfg", SettingType.Number, 2.0, "evaluation before and after: guidance scale of the guided run", Min: 0, Max: 100, Fills: SettingSchema.StageOnly),
        new("sample_batch_size", SettingType.Integer, 200, "sequences generated per batch when sampling for evaluation or dpo candidates (memory, not results)", Min: 1, Max: 65536, Fills: SettingSchema.StageOnly),
    ];

    static SettingSchema[] Cca =>
    [
        new("lambda", SettingType.Number, 50.0, "weight of the true negatives (image under a shifted class); the source uses 50-1000, growing with model size", Min: 1e-9, Max: 1e6),
        new("null_ratio", SettingType.Number, 0.1, "share of pairs turned into (null, null), which keeps the unconditional model for guidance", Min: 0, Max: 1),
    ];

    static SettingSchema[] Ddo =>
    [
        new("alpha", SettingType.Number, 10.0, "weight of the fake-sample term (the paper: 10-100 for VAR)", Min: 0, Max: 1e6),
        new("rounds", SettingType.Integer, 1, "self-play rounds of `steps` each; after a round the trained model becomes the reference", Min: 1, Max: 100),
        new("null_ratio", SettingType.Number, 0.1, "share of real digits taken under the null class, each against an unconditional fake, so guidance's unconditional model is trained too (pretraining's class dropout)", Min: 0, Max: 1),
    ];

    static SettingSchema[] Dpo =>
    [
        new("pairs", SettingType.Integer, 1000, "preference pairs built before training from the starting generator's samples, classes in turn", Min: 1, Max: 1000000, Fills: SettingSchema.StageOnly),
        new("candidates", SettingType.Integer, 4, "samples drawn per pair; the classifier's most and least likely to be the class become chosen and rejected", Min: 2, Max: 1024, Fills: SettingSchema.StageOnly),
    ];

    static SettingSchema[] Rl =>
    [
        new("group_size", SettingType.Integer, 8, "sequences sampled per class and normalised together (group advantages)", Min: 2, Max: 1024),
        new("clip_epsilon", SettingType.Number, 0.2, "the probability ratio is clipped to [1 - eps, 1 + eps]", Min: 1e-6, Max: 0.999999),
        new("advantage_clip", SettingType.Number, 5.0, "advantages are clipped to +- this", Min: 1e-6, Max: 1e6),
        new("kl_coefficient", SettingType.Number, 0.0, "weight of the KL term to the reference (0 = off; the KL is reported either way)", Min: 0, Max: 1e6),
    ];
}
