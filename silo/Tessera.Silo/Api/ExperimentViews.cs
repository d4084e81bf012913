using Tessera.Infra.Storage;
using Tessera.Grains;

namespace Tessera.Silo.Api;

/// <summary>Turns grain answers into the API's shapes, deriving what the grains do not store (fractions, ETA).</summary>
public static class ExperimentViews
{
    public static ExperimentSummaryDto Summary(ExperimentStatus s)
    {
        StageProgress? p = Live(s);
        return new(s.Id, s.Name, s.State, s.CurrentStage, s.Completed.Count, s.TotalStages,
            p?.Step, p?.TotalSteps, p is null ? null : Fraction(p), p?.Loss, s.SubmittedAt, s.FinishedAt, s.Error);
    }

    public static ExperimentDetail Detail(ExperimentStatus s, DateTimeOffset now)
    {
        var stages = s.Completed.Select(r => new StageDto(r.Stage, "succeeded", r.WallSeconds, r.Metrics)).ToList();
        if (s.CurrentStage is not null)
            stages.Add(new StageDto(s.CurrentStage, s.State == ExperimentState.Running ? "running" : "pending", null,
                Live(s)?.Metrics ?? new Dictionary<string, double>()));
        else if (s.State is ExperimentState.Failed or ExperimentState.Cancelled or ExperimentState.Interrupted && s.Completed.Count < s.TotalStages)
            stages.Add(new StageDto(s.Progress?.Stage ?? "?", s.State.ToString().ToLowerInvariant(), null,
                s.Progress?.Metrics ?? new Dictionary<string, double>()));

        var artifacts = s.Completed
            .SelectMany(r => r.Artifacts.Select(a => Artifact(s.Id, r.Stage, a)))
            .ToList();
        DateTimeOffset? end = s.FinishedAt ?? (s.StartedAt is null ? null : now);
        double? elapsed = s.StartedAt is { } start && end is { } e ? (e - start).TotalSeconds : null;
        return new(s.Id, s.Name, s.State, s.CurrentStage, s.TotalStages, s.Error, s.SubmittedAt, s.StartedAt, s.FinishedAt,
            elapsed, Progress(s, now), stages, artifacts);
    }

    public static MetricsPointDto Point(MetricsPoint p) =>
        new(p.Index, p.Stage, p.Step, p.Loss, p.ImagesPerSecond, p.Metrics, p.Time);

    /// <summary>Progress of the stage that is running now; a finished experiment keeps its last report out of "progress".</summary>
    static StageProgress? Live(ExperimentStatus s) => s.CurrentStage is null ? null : s.Progress;

    static double Fraction(StageProgress p) => p.TotalSteps <= 0 ? 0 : Math.Clamp((double)p.Step / p.TotalSteps, 0, 1);

    static ProgressDto? Progress(ExperimentStatus s, DateTimeOffset now)
    {
        if (Live(s) is not { } p || s.StartedAt is not { } started) return null;
        // The running stage began when the earlier ones ended; its mean step rate so far gives the ETA.
        double stageSeconds = (now - started).TotalSeconds - s.Completed.Sum(r => r.WallSeconds);
        double? rate = p.Step > 0 && stageSeconds > 0 ? p.Step / stageSeconds : null;
        double? eta = rate is > 0 ? Math.Max(0, p.TotalSteps - p.Step) / rate : null;
        return new(p.Stage, p.Step, p.TotalSteps, Fraction(p), p.Loss, p.ImagesPerSecond, rate, eta, p.Metrics);
    }

    static ArtifactDto Artifact(string id, string stage, ArtifactRef a)
    {
        string name = a.Path.StartsWith(id + "/", StringComparison.Ordinal) ? a.Path[(id.Length + 1)..] : a.Path;
        string? type = ArtifactNames.ContentType(name);
        return new(name, stage, a.Sha256, a.Length, type ?? "application/octet-stream",
            type is null ? null : $"/api/experiments/{Uri.EscapeDataString(id)}/artifacts/{name}");
    }
}
