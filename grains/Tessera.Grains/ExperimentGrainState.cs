using Tessera.Infra.Specs;

namespace Tessera.Grains;

/// <summary>What an experiment grain persists: enough to answer status and to resume the workflow.</summary>
[GenerateSerializer]
public sealed class ExperimentGrainState
{
    [Id(0)] public ExperimentSubmission? Submission { get; set; }
    [Id(1)] public string Name { get; set; } = "";
    /// <summary>The resolved spec as spec.yaml has it; what a state written before <see cref="Spec"/> was kept is read from.</summary>
    [Id(2)] public string ResolvedSpecYaml { get; set; } = "";
    [Id(3)] public ExperimentState State { get; set; }
    [Id(4)] public int StageIndex { get; set; }
    [Id(5)] public int TotalStages { get; set; }
    [Id(6)] public List<StageResult> Completed { get; set; } = [];
    [Id(7)] public string? Error { get; set; }
    [Id(8)] public DateTimeOffset? StartedAt { get; set; }
    [Id(9)] public DateTimeOffset? FinishedAt { get; set; }
    [Id(10)] public List<string> StageNames { get; set; } = [];
    /// <summary>Bumped at every start of a stage's ranks: a rank of an older generation can never join a newer ring.</summary>
    [Id(11)] public long Generation { get; set; }
    /// <summary>Automatic restarts used so far (the spec's max_restarts is the budget; a manual resume refills it).</summary>
    [Id(12)] public int Restarts { get; set; }
    /// <summary>
    /// The spec parsed at submission, as it travels to the trainers. Null in a state written before it was kept. A JSON
    /// grain storage (Redis) leaves it out: JSON reads an int setting back as a long, so there the activation parses
    /// <see cref="ResolvedSpecYaml"/> instead; the binary storage keeps it exactly (see SpecSurrogates).
    /// </summary>
    [Id(13), Newtonsoft.Json.JsonIgnore] public ExperimentSpec? Spec { get; set; }
}
