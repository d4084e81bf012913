using System.Text;

namespace Tessera.Stages;

/// <summary>
/// What one alignment stage measured, written as <c>&lt;stage&gt;.align.json</c>: the starting generator and the aligned
/// one judged alike (<see cref="SampleJudge.Evaluate"/> metrics), and the objective's own numbers (its last training
/// report as train_*, KL to the start, pair rewards for dpo).
/// </summary>
public sealed record AlignmentSection(string Stage, string Kind, string From, string Model, string Classifier, int SamplesPerClass,
    IReadOnlyDictionary<string, double> Before, IReadOnlyDictionary<string, double> After, IReadOnlyDictionary<string, double> Objective);

/// <summary>The alignment stages' part of report.md: one before/after table per stage, its objective's numbers and grids.</summary>
public static class AlignmentReport
{
    public static readonly string[] Kinds = ["cca", "ddo", "dpo", "rl"];

    static readonly Dictionary<string, string> Descriptions = new()
    {
        ["cca"] = "Condition Contrastive Alignment: the model learns to prefer each image under its own class over a shifted class, relative to the start, so guidance-free sampling behaves like guided sampling",
        ["ddo"] = "Direct Discriminative Optimization: the model's likelihood ratio to the reference is trained as a discriminator of data against the reference's samples",
        ["dpo"] = "Direct Preference Optimization on pairs of the start's samples, ranked by the classifier's probability of the requested class",
        ["rl"] = "GRPO-style RL: groups of the policy's own samples per class, rewarded by the classifier's probability of the class, group-normalised",
    };

    public static string SectionPath(string experimentId, string stage) => $"{experimentId}/{stage}.align.json";

    /// <summary>The sections of the experiment's alignment stages that have run, in the spec's order.</summary>
    public static IReadOnlyList<AlignmentSection> Sections(StageContext context) =>
        EvalReport.Existing<AlignmentSection>(context, s => Kinds.Contains(s.Kind), s => SectionPath(context.ExperimentId, s.Name));

    public static void Append(StringBuilder text, AlignmentSection a)
    {
        static string F(double v, string format) => EvalReport.F(v, format);
        var o = a.Objective;
        text.AppendLine($"## Post-training `{a.Stage}` ({a.Kind}) from `{a.From}`");
        text.AppendLine();
        text.AppendLine($"{Descriptions[a.Kind]}. {F(o["steps"], "0")} steps" + (o.TryGetValue("rounds", out var rounds) && rounds > 1 ? $" in {F(rounds, "0")} rounds" : "") +
            $", {F(o["train_seconds"], "0.0")} s of training; KL(aligned ‖ start) {F(o["kl_to_start"], "0.00")} nats per image " +
            "(from the aligned model's samples). Both generators are judged alike, " + $"{a.SamplesPerClass} samples per class; network evaluations " +
            "per image count the conditional and unconditional rows of a guided pass separately, so guidance costs twice.");
        text.AppendLine();
        text.AppendLine("| generator | mode | network evaluations / image | class accuracy | Fréchet distance | inception score | mean reward | samples/s |");
        text.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (label, m) in new[] { ($"before (`{a.From}`)", a.Before), ($"after (`{a.Stage}`)", a.After) })
            foreach (string mode in SampleJudge.Modes)
            {
                bool guided = mode == "guided";
                string modeLabel = guided ? $"guided (cfg {F(m["guided_cfg"], "0.##")})" : "guidance-free";
                text.AppendLine($"| {label} | {modeLabel} | {F(m["forward_passes_per_image"] * (guided ? 2 : 1), "0")} | " +
                    $"{F(m[$"{mode}_class_accuracy"], "P1")} | {F(m[$"{mode}_fd"], "0.00")} | {F(m[$"{mode}_inception_score"], "0.00")} | " +
                    $"{F(m[$"{mode}_mean_reward"], "0.000")} | {F(m[$"{mode}_samples_per_second"], "0.0")} |");
            }
        text.AppendLine();
        var objective = o.Where(kv => kv.Key is not ("steps" or "rounds" or "train_seconds" or "kl_to_start")).Select(kv => $"{kv.Key} {F(kv.Value, "0.####")}");
        text.AppendLine($"The objective's numbers: {string.Join(", ", objective)}.");
        text.AppendLine();
        text.AppendLine("| | guided | guidance-free |");
        text.AppendLine("| --- | --- | --- |");
        foreach (var when in new[] { "before", "after" })
            text.AppendLine($"| {when} | ![{when}, guided]({a.Stage}-{when}-guided.png) | ![{when}, guidance-free]({a.Stage}-{when}-unguided.png) |");
        text.AppendLine();
    }
}
