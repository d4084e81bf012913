namespace Tessera.Grains;

/// <summary>Where an experiment's artifacts live in the store: one folder per experiment id.</summary>
public static class ExperimentPaths
{
    public static string Spec(string id) => $"{id}/spec.yaml";
    public static string Summary(string id) => $"{id}/summary.json";
    public static string Metrics(string id) => $"{id}/metrics.jsonl";
    public static string Reconstructions(string id) => $"{id}/recon.png";
    public static string Checkpoint(string id, string stage) => $"{id}/checkpoints/{stage}.ckpt";
}
