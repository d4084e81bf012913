namespace Tessera.Trainers.PostTraining;

/// <summary>
/// Every hyperparameter of one post-training run, declared once. <see cref="For"/> gives each objective's defaults
/// from ../shared/algorithms.md and the sources it cites; the objective-specific keys are ignored by the others.
/// </summary>
public sealed record PostTrainingConfig
{
    public const string ObjectiveCca = "cca";
    public const string ObjectiveDdo = "ddo";
    public const string ObjectiveDpo = "dpo";
    public const string ObjectiveRl = "rl";

    /// <summary><see cref="ObjectiveCca"/>, <see cref="ObjectiveDdo"/>, <see cref="ObjectiveDpo"/> or <see cref="ObjectiveRl"/>.</summary>
    public string Objective { get; init; } = ObjectiveCca;

    // ---- objectives ----
    /// <summary>Scale of the log-ratio to the reference (CCA and DDO: 0.02 per the CCA source and the DDO paper's VAR setting; DPO: trl's 0.1).</summary>
    public double Beta { get; init; } = 0.02;
    /// <summary>CCA: weight of true negatives; the source uses 50-1000, growing with model size, so the small end here.</summary>
    public double Lambda { get; init; } = 50;
    /// <summary>
    /// CCA: probability a pair becomes (null, null), which keeps the unconditional model for guidance (the source's uncond_ratio 0.1).
    /// DDO: probability a real sequence is taken under the null class against an unconditional fake (pretraining's class dropout).
    /// </summary>
    public double NullRatio { get; init; } = 0.1;
    /// <summary>DDO: weight of the fake-sample term; the paper uses 10-100 for VAR.</summary>
    public double Alpha { get; init; } = 10;
    /// <summary>RL: sequences sampled per class and normalised together (VA-Pi and trl examples use 8).</summary>
    public int GroupSize { get; init; } = 8;
    /// <summary>RL: the ratio is clipped to [1-eps, 1+eps] (PPO's 0.2).</summary>
    public double ClipEpsilon { get; init; } = 0.2;
    /// <summary>RL: advantages are clipped to +-this, so one outlier in a tight group cannot dominate a step.</summary>
    public double AdvantageClip { get; init; } = 5;
    /// <summary>RL: weight of the KL term to the reference; 0 turns it off (it is optional in the sources).</summary>
    public double KlCoefficient { get; init; }

    // ---- optimisation ----
    /// <summary>Optimizer steps (per round).</summary>
    public int Steps { get; init; } = 500;
    /// <summary>
    /// DDO's self-play: rounds of <see cref="Steps"/> steps each, the policy becoming the frozen reference after each
    /// round, with a fresh learning-rate schedule. 1 for the other objectives, whose reference is the start throughout.
    /// </summary>
    public int Rounds { get; init; } = 1;
    /// <summary>Steps of the whole run: <see cref="Rounds"/> x <see cref="Steps"/>.</summary>
    public int TotalSteps => Rounds * Steps;
    /// <summary>Sequences (CCA, DDO data), pairs (DPO) or classes (RL, each sampled GroupSize times) per step.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Peak AdamW rate: fine-tuning moves a trained model, so far below pretraining's (CCA's source: 1e-5 to 2e-5 at ImageNet scale).</summary>
    public double LearningRate { get; init; } = 2e-5;
    /// <summary>Linear warmup steps.</summary>
    public int WarmupSteps { get; init; } = 10;
    /// <summary>Cosine decay ends at this fraction of the peak rate.</summary>
    public double MinLearningRateFraction { get; init; } = 0.1;
    /// <summary>AdamW decoupled weight decay; CCA's source fine-tunes with 0.</summary>
    public double WeightDecay { get; init; }
    /// <summary>Global gradient-norm clip.</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>
    /// Dropout of the policy while it trains: 0, because the objectives compare the policy's log-probabilities with the
    /// reference's, and dropout would make that comparison noisy (CCA builds with dropout 0; trl's DPO disables it).
    /// </summary>
    public double Dropout { get; init; }

    /// <summary>On a NaN or infinite loss or gradient: stop the stage (<see cref="NonFinitePolicy.Stop"/>) or skip the step (<see cref="NonFinitePolicy.Skip"/>).</summary>
    public string OnNonFinite { get; init; } = NonFinitePolicy.Stop;
    /// <summary>Report progress every this many steps (and always on the last).</summary>
    public int LogEvery { get; init; } = 25;

    /// <summary>The defaults for <paramref name="objective"/>: DPO's beta is trl's 0.1, the rest as declared above.</summary>
    public static PostTrainingConfig For(string objective) => objective switch
    {
        ObjectiveCca or ObjectiveDdo or ObjectiveRl => new PostTrainingConfig { Objective = objective },
        ObjectiveDpo => new PostTrainingConfig { Objective = objective, Beta = 0.1 },
        _ => throw new ArgumentException($"objective '{objective}' is not one of {ObjectiveCca}, {ObjectiveDdo}, {ObjectiveDpo}, {ObjectiveRl}"),
    };

    /// <summary>Throws if a value is out of range, naming it.</summary>
    public void Validate()
    {
        static void Check(bool ok, string name, object value, string rule)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, value, $"{name} {rule}");
        }
        NonFinitePolicy.Validate(OnNonFinite);
        For(Objective); // throws on an unknown objective
        Check(Beta > 0 && double.IsFinite(Beta), nameof(Beta), Beta, "must be positive");
        Check(Lambda > 0 && double.IsFinite(Lambda), nameof(Lambda), Lambda, "must be positive");
        Check(NullRatio >= 0 && NullRatio <= 1, nameof(NullRatio), NullRatio, "must be in [0, 1]");
        Check(Alpha >= 0 && double.IsFinite(Alpha), nameof(Alpha), Alpha, "must be >= 0");
        Check(GroupSize >= 2, nameof(GroupSize), GroupSize, "must be at least 2");
        Check(ClipEpsilon > 0 && ClipEpsilon < 1, nameof(ClipEpsilon), ClipEpsilon, "must be in (0, 1)");
        Check(AdvantageClip > 0, nameof(AdvantageClip), AdvantageClip, "must be positive");
        Check(KlCoefficient >= 0, nameof(KlCoefficient), KlCoefficient, "must be >= 0");
        Check(Steps > 0, nameof(Steps), Steps, "must be positive");
        Check(Rounds > 0, nameof(Rounds), Rounds, "must be positive");
        Check(BatchSize > 0, nameof(BatchSize), BatchSize, "must be positive");
        Check(LearningRate > 0, nameof(LearningRate), LearningRate, "must be positive");
        Check(WarmupSteps >= 0, nameof(WarmupSteps), WarmupSteps, "must be >= 0");
        Check(MinLearningRateFraction >= 0 && MinLearningRateFraction <= 1, nameof(MinLearningRateFraction), MinLearningRateFraction, "must be in [0, 1]");
        Check(WeightDecay >= 0, nameof(WeightDecay), WeightDecay, "must be >= 0");
        Check(GradClip > 0, nameof(GradClip), GradClip, "must be positive");
        Check(Dropout >= 0 && Dropout < 1, nameof(Dropout), Dropout, "must be in [0, 1)");
        Check(LogEvery > 0, nameof(LogEvery), LogEvery, "must be positive");
    }
}
