using Tessera.Infra.Storage;
using System.Globalization;
using System.Text;

namespace Tessera.Stages;

/// <summary>What one eval stage measured, kept beside the report so later eval stages can put it side by side with theirs.</summary>
public sealed record EvalSection(string Stage, string Generator, string Model, string Classifier, int SamplesPerClass,
    IReadOnlyDictionary<string, double> Metrics);

/// <summary>
/// report.md of an experiment: every eval stage run so far (in spec order), one table comparing them, and the
/// sample grids they describe; then each alignment stage's before/after section (<see cref="AlignmentReport"/>).
/// Each eval and alignment stage rewrites it, so the last one shows all.
/// </summary>
public static class EvalReport
{
    public static string SectionPath(string experimentId, string stage) => $"{experimentId}/{stage}.eval.json";
    public static string Grid(string experimentId, string stage, string mode) => $"{experimentId}/{stage}-{mode}.png";

    /// <summary>The sections of the experiment's eval stages that have run, in the spec's order.</summary>
    public static IReadOnlyList<EvalSection> Sections(StageContext context) => Existing<EvalSection>(context, s => s.Kind == "eval",
        s => SectionPath(context.ExperimentId, s.Name));

    /// <summary>The JSON sections of the stages <paramref name="which"/> picks that have written one, in the spec's order.</summary>
    internal static IReadOnlyList<T> Existing<T>(StageContext context, Func<Infra.Specs.StageSpec, bool> which, Func<Infra.Specs.StageSpec, string> path) =>
        context.Spec.Stages
            .Where(which)
            .Select(path)
            .Where(p => context.Store.ExistsAsync(p, context.Cancellation).GetAwaiter().GetResult())
            .Select(p => StageData.ReadJson<T>(context, p))
            .ToList();

    /// <summary>Rewrites report.md from every eval and alignment stage that has run so far.</summary>
    public static ArtifactRef Write(StageContext context) =>
        StageData.Write(context, $"{context.ExperimentId}/report.md", Encoding.UTF8.GetBytes(
            Markdown(context.ExperimentId, Sections(context), AlignmentReport.Sections(context))));

    internal static string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);

    public static string Markdown(string experimentId, IReadOnlyList<EvalSection> sections, IReadOnlyList<AlignmentSection>? alignments = null)
    {
        alignments ??= [];
        var text = new StringBuilder();
        text.AppendLine($"# Evaluation ({experimentId})");
        text.AppendLine();
        text.AppendLine("Each generator is sampled guided and guidance-free, and the samples are judged by the reference classifier: the share " +
            "labelled as the requested class, the Fréchet distance between classifier features of the samples and of the held-out digits, " +
            "and the inception-score analogue (10 is the ceiling for 10 balanced classes). Samples/s covers token generation and decoding.");
        text.AppendLine();
        var floor = sections.Select(s => s.Metrics["fd_heldout_halves"]).Concat(alignments.Select(a => a.Before["fd_heldout_halves"])).Distinct().ToList();
        text.AppendLine($"The floor of the Fréchet distance, between two halves of the held-out set: **{string.Join(" / ", floor.Select(f => F(f, "0.00")))}**.");
        text.AppendLine();
        if (sections.Count > 0) AppendEvalSections(text, sections);
        foreach (var a in alignments) AlignmentReport.Append(text, a);
        return text.ToString();
    }

    static void AppendEvalSections(StringBuilder text, IReadOnlyList<EvalSection> sections)
    {
        text.AppendLine("| eval | generator | model | passes / image | mode | class accuracy | Fréchet distance | inception score | samples/s |");
        text.AppendLine("| --- | --- | --- | ---: | --- | ---: | ---: | ---: | ---: |");
        foreach (var s in sections)
        {
            var m = s.Metrics;
            foreach (string mode in new[] { "guided", "unguided" })
            {
                string label = mode == "guided" ? $"guided (cfg {F(m["guided_cfg"], "0.##")})" : "guidance-free";
                text.AppendLine($"| {s.Stage} | `{s.Generator}` | {s.Model} | {F(m["forward_passes_per_image"], "0")} | {label} | " +
                    $"{F(m[$"{mode}_class_accuracy"], "P1")} | {F(m[$"{mode}_fd"], "0.00")} | {F(m[$"{mode}_inception_score"], "0.00")} | " +
                    $"{F(m[$"{mode}_samples_per_second"], "0.0")} |");
            }
        }
        foreach (var s in sections)
        {
            text.AppendLine();
            text.AppendLine($"## `{s.Generator}` ({s.Model}), stage `{s.Stage}`: {s.SamplesPerClass} samples per class, one row per class, 0 at the top");
            text.AppendLine();
            text.AppendLine($"Guided:");
            text.AppendLine();
            text.AppendLine($"![guided samples of {s.Generator}]({s.Stage}-guided.png)");
            text.AppendLine();
            text.AppendLine("Guidance-free:");
            text.AppendLine();
            text.AppendLine($"![guidance-free samples of {s.Generator}]({s.Stage}-unguided.png)");
        }
        text.AppendLine();
    }
}
