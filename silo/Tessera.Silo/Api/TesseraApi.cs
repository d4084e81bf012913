using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Orleans.Runtime;
using Tessera.Grains;
using Tessera.Infra.Storage;
using Tessera.Silo.Logging;

namespace Tessera.Silo.Api;

/// <summary>
/// The read-only HTTP API under <c>/api</c>. Every answer comes from grains (which answer from memory) or, for
/// artifact bytes, from the artifact store; nothing here keeps state of its own.
/// </summary>
public static class TesseraApi
{
    public static IEndpointRouteBuilder MapTesseraApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api");
        api.MapGet("/experiments", ListExperiments);
        api.MapGet("/experiments/{id}", GetExperiment);
        api.MapGet("/experiments/{id}/metrics", GetMetrics);
        api.MapGet("/experiments/{id}/logs", GetLogs);
        api.MapGet("/experiments/{id}/artifacts/{*name}", GetArtifact);
        api.MapGet("/cluster", GetCluster);
        // Unknown /api paths answer in JSON too, not with the dashboard's HTML.
        api.MapFallback(() => NotFound("no such API endpoint"));
        return app;
    }

    static async Task<IResult> ListExperiments(IClusterClient client)
    {
        var statuses = await AllStatuses(client);
        return Json(new ExperimentList(statuses.OrderByDescending(s => s.SubmittedAt).Select(ExperimentViews.Summary).ToList()));
    }

    static async Task<IResult> GetExperiment(string id, IClusterClient client)
    {
        if (await Status(client, id) is not { } status) return UnknownExperiment(id);
        return Json(ExperimentViews.Detail(status, DateTimeOffset.UtcNow));
    }

    static async Task<IResult> GetMetrics(string id, int? since, IClusterClient client)
    {
        if (since is < 0) return BadRequest("'since' must be 0 or more");
        if (await Status(client, id) is null) return UnknownExperiment(id);
        int from = since ?? 0;
        var points = await client.GetGrain<IExperimentGrain>(id).GetMetrics(from);
        // "next" is what the caller passes as "since" on its next poll, so it never re-reads a point.
        int next = points.Count == 0 ? from : points[^1].Index + 1;
        return Json(new MetricsPage(from, next, points.Select(ExperimentViews.Point).ToList()));
    }

    /// <summary>
    /// Log events from index "since" on, from this silo's memory. The experiment's state is read first, so once a
    /// page says it has finished, that page (or the next) holds every event it logged here.
    /// </summary>
    static async Task<IResult> GetLogs(string id, int? since, int? max, IClusterClient client, ExperimentLogs logs)
    {
        if (since is < 0) return BadRequest("'since' must be 0 or more");
        if (max is < 1) return BadRequest("'max' must be 1 or more");
        if (await Status(client, id) is not { } status) return UnknownExperiment(id);
        int from = since ?? 0;
        var events = logs.Read(id, from, max ?? MaxLogEvents);
        int next = events.Count == 0 ? from : events[^1].Index + 1;
        return Json(new LogPage(from, next, status.State, status.IsFinished, events));
    }

    const int MaxLogEvents = 500;

    static async Task<IResult> GetArtifact(string id, string name, IClusterClient client, IArtifactStore store, CancellationToken ct)
    {
        if (!ArtifactNames.IsInsideExperiment(name))
            return NotFound($"artifact name '{name}' is not a path inside experiment '{id}'");
        if (ArtifactNames.ContentType(name) is not { } contentType)
            return NotFound($"artifact '{name}' is not served over HTTP (only .png, .json, .jsonl, .md, .yaml, .txt)");
        if (await Status(client, id) is null) return UnknownExperiment(id);
        string path = $"{id}/{name}";
        if (!await store.ExistsAsync(path, ct)) return NotFound($"experiment '{id}' has no artifact '{name}'");
        Stream content = await store.OpenReadAsync(path, ct);
        return Results.Stream(content, contentType);
    }

    static async Task<IResult> GetCluster(IClusterClient client)
    {
        var management = client.GetGrain<IManagementGrain>(0);
        var hosts = await management.GetDetailedHosts(onlyActive: true);
        var stats = hosts.Length == 0 ? [] : await management.GetRuntimeStatistics(hosts.Select(h => h.SiloAddress).ToArray());
        var silos = hosts.Select((h, i) => new SiloDto(
            h.SiloAddress.ToParsableString(), h.SiloName, h.HostName, h.Status.ToString().ToLowerInvariant(),
            new DateTimeOffset(DateTime.SpecifyKind(h.StartTime, DateTimeKind.Utc)),
            i < stats.Length ? stats[i].ActivationCount : null)).ToList();

        // The queue: experiments not finished yet, oldest first (the order the scheduler serves them).
        var queue = (await AllStatuses(client))
            .Where(s => !s.IsFinished)
            .OrderBy(s => s.SubmittedAt)
            .Select(s => new QueueEntryDto(s.Id, s.Name, s.State, s.SubmittedAt))
            .ToList();
        return Json(new ClusterDto(silos, queue));
    }

    static async Task<ExperimentStatus[]> AllStatuses(IClusterClient client)
    {
        var listings = await client.GetGrain<ISchedulerGrain>(0).List();
        var statuses = await Task.WhenAll(listings.Select(l => Status(client, l.Id)));
        return statuses.OfType<ExperimentStatus>().ToArray();
    }

    /// <summary>The experiment's status, or null when no experiment has that id (the grain throws KeyNotFoundException).</summary>
    static async Task<ExperimentStatus?> Status(IClusterClient client, string id)
    {
        if (!ArtifactNames.IsValidId(id)) return null;
        try { return await client.GetGrain<IExperimentGrain>(id).GetStatus(); }
        catch (KeyNotFoundException) { return null; }
    }

    static IResult Json<T>(T value) => Results.Json(value, ApiJson.Options);

    static IResult BadRequest(string message) => Results.Json(new ApiError(message), ApiJson.Options, statusCode: 400);

    static IResult NotFound(string message) => Results.Json(new ApiError(message), ApiJson.Options, statusCode: 404);

    static IResult UnknownExperiment(string id) => NotFound($"no experiment with id '{id}'");
}
