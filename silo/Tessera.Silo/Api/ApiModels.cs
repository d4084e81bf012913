using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Tessera.Grains;
using Tessera.Silo.Logging;

namespace Tessera.Silo.Api;

// The HTTP API's wire shapes. They are separate from the grain records so that the JSON contract (snake_case,
// documented in the README) does not change when a grain record gains a field.

public sealed record ExperimentList(IReadOnlyList<ExperimentSummaryDto> Experiments);

public sealed record ExperimentSummaryDto(
    string Id, string Name, ExperimentState State, string? CurrentStage, int CompletedStages, int TotalStages,
    int? Step, int? TotalSteps, double? Fraction, double? Loss, DateTimeOffset SubmittedAt, DateTimeOffset? FinishedAt,
    string? Error);

public sealed record ExperimentDetail(
    string Id, string Name, ExperimentState State, string? CurrentStage, int TotalStages, string? Error,
    DateTimeOffset SubmittedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, double? ElapsedSeconds,
    ProgressDto? Progress, IReadOnlyList<StageDto> Stages, IReadOnlyList<ArtifactDto> Artifacts);

/// <summary>The running stage; <c>eta_seconds</c> covers this stage only (later stages have no step rate yet).</summary>
public sealed record ProgressDto(
    string Stage, int Step, int TotalSteps, double Fraction, double Loss, double ImagesPerSecond,
    double? StepsPerSecond, double? EtaSeconds, IReadOnlyDictionary<string, double> Metrics);

public sealed record StageDto(string Name, string State, double? WallSeconds, IReadOnlyDictionary<string, double> Metrics);

public sealed record ArtifactDto(string Name, string Stage, string Sha256, long Length, string ContentType, string? Url);

public sealed record MetricsPage(int Since, int Next, IReadOnlyList<MetricsPointDto> Points);

public sealed record MetricsPointDto(
    int Index, string Stage, int Step, double Loss, double ImagesPerSecond, IReadOnlyDictionary<string, double> Metrics,
    DateTimeOffset Time);

/// <summary>A page of log events; <c>finished</c> tells a follower it can stop after this page.</summary>
public sealed record LogPage(int Since, int Next, ExperimentState State, bool Finished, IReadOnlyList<ExperimentLogEvent> Events);

public sealed record ClusterDto(IReadOnlyList<SiloDto> Silos, IReadOnlyList<QueueEntryDto> Queue);

public sealed record SiloDto(string Address, string Name, string Host, string Status, DateTimeOffset StartedAt, int? Activations);

public sealed record QueueEntryDto(string Id, string Name, ExperimentState State, DateTimeOffset SubmittedAt);

public sealed record ApiError(string Error);

/// <summary>One JSON setup for every API answer; kept off the global options so the Orleans Dashboard's own JSON is untouched.</summary>
public static class ApiJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        // Answers are JSON, never inlined into HTML, so quotes in error messages can stay readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
