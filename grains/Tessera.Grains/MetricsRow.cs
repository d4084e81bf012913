using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tessera.Grains;

/// <summary>One row of metrics.jsonl: a progress report as the experiment grain received it.</summary>
public sealed record MetricsRow(string Stage, int Step, double Loss, double ImagesPerSecond,
    IReadOnlyDictionary<string, double> Metrics, DateTimeOffset Time)
{
    /// <summary>One JSON object per line, ordered by stage then step (reports may arrive out of order).</summary>
    public static string ToJsonLines(IEnumerable<MetricsRow> rows)
    {
        var text = new StringBuilder();
        foreach (var row in rows.DistinctBy(r => (r.Stage, r.Step)).OrderBy(r => r.Time).ThenBy(r => r.Step))
        {
            var json = new JsonObject
            {
                ["stage"] = row.Stage, ["step"] = row.Step, ["loss"] = row.Loss,
                ["images_per_second"] = Math.Round(row.ImagesPerSecond, 1), ["time"] = row.Time.ToString("O"),
            };
            foreach (var (key, value) in row.Metrics) json[key] = value;
            text.Append(json.ToJsonString(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping })).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>Reads back what <see cref="ToJsonLines"/> wrote (a resumed experiment continues its history).</summary>
    public static List<MetricsRow> FromJsonLines(string text)
    {
        string[] known = ["stage", "step", "loss", "images_per_second", "time"];
        var rows = new List<MetricsRow>();
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var json = JsonNode.Parse(line)!.AsObject();
            var metrics = json.Where(p => !known.Contains(p.Key) && p.Value is JsonValue)
                .ToDictionary(p => p.Key, p => p.Value!.GetValue<double>());
            rows.Add(new MetricsRow(json["stage"]!.GetValue<string>(), json["step"]!.GetValue<int>(), json["loss"]!.GetValue<double>(),
                json["images_per_second"]!.GetValue<double>(), metrics, DateTimeOffset.Parse(json["time"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture)));
        }
        return rows;
    }
}

/// <summary>summary.json: the experiment's outcome, each stage's headline metrics and the wall time.</summary>
public static class ExperimentSummary
{
    public static string ToJson(ExperimentStatus status)
    {
        var stages = new JsonObject();
        foreach (var result in status.Completed)
        {
            var stage = new JsonObject { ["wall_seconds"] = Math.Round(result.WallSeconds, 2) };
            foreach (var (key, value) in result.Metrics) stage[key] = value;
            stage["artifacts"] = new JsonArray(result.Artifacts
                .Select(a => (JsonNode)new JsonObject { ["path"] = a.Path, ["sha256"] = a.Sha256, ["bytes"] = a.Length })
                .ToArray());
            stages[result.Stage] = stage;
        }
        var summary = new JsonObject
        {
            ["experiment_id"] = status.Id,
            ["experiment"] = status.Name,
            ["state"] = status.State.Name(),
            ["error"] = status.Error,
            ["submitted_at"] = status.SubmittedAt.ToString("O"),
            ["started_at"] = status.StartedAt?.ToString("O"),
            ["finished_at"] = status.FinishedAt?.ToString("O"),
            ["wall_seconds"] = status.StartedAt is { } start && status.FinishedAt is { } end
                ? Math.Round((end - start).TotalSeconds, 2) : null,
            ["stages"] = stages,
        };
        return summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    }
}
