namespace Tessera.Infra.Specs;

/// <summary>A validated experiment: what to train, on which data, in which order. Parsed by <see cref="SpecParser"/>.</summary>
public sealed record ExperimentSpec(
    string Experiment,
    long Seed,
    string Device,
    DatasetSpec Dataset,
    IReadOnlyList<StageSpec> Stages,
    int Priority = 0,
    string Team = ExperimentSpec.DefaultTeam,
    int MaxRestarts = 0)
{
    /// <summary>The team of a spec that names none; quotas are per team.</summary>
    public const string DefaultTeam = "default";
}

/// <summary>Which dataset the experiment reads. <c>Builtin</c> datasets are imported into the store on first use.</summary>
public sealed record DatasetSpec(string Name, string Source, int Shards)
{
    public bool IsBuiltin => Source == "builtin";
}

/// <summary>
/// One stage of the workflow. Every key of the stage's kind is present (defaults filled in, references to other
/// stages resolved), so the resolved spec says exactly what ran. <see cref="After"/> lists the stages the spec
/// asked this one to wait for beyond those it reads from.
/// </summary>
public sealed record StageSpec(string Name, string Kind, IReadOnlyDictionary<string, object> Settings, IReadOnlyList<string>? After = null)
{
    public IReadOnlyList<string> After { get; } = After ?? [];

    public int Int(string key) => Convert.ToInt32(Settings[key], System.Globalization.CultureInfo.InvariantCulture);
    public double Double(string key) => Convert.ToDouble(Settings[key], System.Globalization.CultureInfo.InvariantCulture);
    public string String(string key) => (string)Settings[key];

    /// <summary>Data-parallel ranks: the `workers` setting of training stages; other kinds always run one.</summary>
    public int Workers => Settings.ContainsKey("workers") ? Int("workers") : 1;

    /// <summary>The fewest ranks a start of this stage may run on (`min_workers`, resolved; <see cref="Workers"/> if absent).</summary>
    public int MinWorkers => Settings.ContainsKey("min_workers") && Int("min_workers") > 0 ? Int("min_workers") : Workers;
}
