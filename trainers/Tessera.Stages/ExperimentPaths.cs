using Tessera.Infra.Storage;
namespace Tessera.Stages;

/// <summary>Where an experiment's artifacts live in the store: one folder per experiment id.</summary>
public static class ExperimentPaths
{
    public static string Spec(string id) => $"{id}/spec.yaml";
    public static string Summary(string id) => $"{id}/summary.json";
    public static string Metrics(string id) => $"{id}/metrics.jsonl";
    /// <summary>recon.png for the stage named "tokenizer"; recon-&lt;stage&gt;.png for any other, so two tokenizers never collide.</summary>
    public static string Reconstructions(string id, string stage) => stage == "tokenizer" ? $"{id}/recon.png" : $"{id}/recon-{stage}.png";
    public static string Checkpoint(string id, string stage) => $"{id}/checkpoints/{stage}.ckpt";
}
