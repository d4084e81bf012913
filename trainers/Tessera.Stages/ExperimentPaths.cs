using Tessera.Infra.Storage;
namespace Tessera.Stages;

/// <summary>Where an experiment's own files live in the store: one folder per experiment id.</summary>
public static class ExperimentPaths
{
    public static string Spec(string id) => $"{id}/spec.yaml";
    public static string Summary(string id) => $"{id}/summary.json";
    public static string Metrics(string id) => $"{id}/metrics.jsonl";
    public static string Checkpoint(string id, string stage) => new StageArtifacts(id, stage).Checkpoint;
}

/// <summary>
/// The artifacts of one stage of one experiment, named in this one place: its final checkpoint, the lineage beside a
/// generator's, the two resumable slots and their index, and its pictures. Stages, loaders and the CLI pass this value
/// around; none of them builds a path of its own or reads an experiment or stage back out of one.
/// </summary>
public sealed record StageArtifacts(string ExperimentId, string Stage)
{
    string Checkpoints => $"{ExperimentId}/checkpoints/{Stage}";
    public string Checkpoint => $"{Checkpoints}.ckpt";
    /// <summary>A generator's (or aligned generator's) tokenizer: path, SHA-256 and scales (<see cref="GeneratorLineage"/>).</summary>
    public string Lineage => $"{Checkpoints}.lineage.json";
    /// <summary>Which resume slot holds which step (<see cref="StageResume"/>).</summary>
    public string ResumeIndex => $"{Checkpoints}.resume.json";
    public string ResumeSlot(int slot) => $"{Checkpoints}.resume-{slot}.ckpt";
    /// <summary>A generator's sample grid, one row per class.</summary>
    public string Samples => $"{ExperimentId}/samples-{Stage}.png";
    /// <summary>recon.png for the stage named "tokenizer"; recon-&lt;stage&gt;.png for any other, so two tokenizers never collide.</summary>
    public string Reconstructions => Stage == "tokenizer" ? $"{ExperimentId}/recon.png" : $"{ExperimentId}/recon-{Stage}.png";

    /// <summary>A reference as a spec writes one: "stage" of <paramref name="experimentId"/>, or "experiment-id/stage" of another.</summary>
    public static StageArtifacts Referenced(string experimentId, string reference) =>
        reference.Split('/') is [var experiment, var stage] ? new(experiment, stage) : new(experimentId, reference);

    /// <summary>As a spec would refer to it from another experiment.</summary>
    public override string ToString() => $"{ExperimentId}/{Stage}";
}
