using System.Globalization;
using System.Text;

namespace Tessera.Grains.Workers;

/// <summary>report.md of an eval stage: the numbers side by side, and the sample grids they describe.</summary>
public static class EvalReport
{
    public static string Markdown(StageContext context, string generator, IReadOnlyDictionary<string, double> m, int perClass)
    {
        string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
        var text = new StringBuilder();
        text.AppendLine($"# Evaluation of `{generator}` ({context.ExperimentId})");
        text.AppendLine();
        text.AppendLine($"{perClass} samples per class for each mode, judged by the reference classifier `{context.Stage.String("classifier")}`.");
        text.AppendLine($"Fréchet distance is between classifier features of the samples and of the held-out digits; the floor is the distance between two halves of the held-out set: **{F(m["fd_heldout_halves"], "0.00")}**.");
        text.AppendLine();
        text.AppendLine("| mode | class accuracy | Fréchet distance | inception score | samples/s |");
        text.AppendLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (string mode in new[] { "guided", "unguided" })
        {
            string label = mode == "guided" ? $"guided (cfg {F(m["guided_cfg"], "0.##")})" : "guidance-free";
            text.AppendLine($"| {label} | {F(m[$"{mode}_class_accuracy"], "P1")} | {F(m[$"{mode}_fd"], "0.00")} | {F(m[$"{mode}_inception_score"], "0.00")} | {F(m[$"{mode}_samples_per_second"], "0.0")} |");
        }
        text.AppendLine();
        text.AppendLine("## Guided samples (one row per class, 0 at the top)");
        text.AppendLine();
        text.AppendLine("![guided samples](eval-guided.png)");
        text.AppendLine();
        text.AppendLine("## Guidance-free samples");
        text.AppendLine();
        text.AppendLine("![guidance-free samples](eval-unguided.png)");
        return text.ToString();
    }
}
