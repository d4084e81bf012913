using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Tessera.Grains.Workers;

namespace Tessera.Silo.Api;

/// <summary>
/// Fault injection for chaos tests: lists the trainer ranks this silo runs and fails one of them on request, as if its
/// worker thread had crashed (the silo itself stays up). Mapped only on a silo started with
/// <see cref="TesseraSiloOptions.EnableFaultInjection"/> (`tessera silo --enable-fault-injection`); without it these
/// paths do not exist (the API answers 404). Behind the cluster token like the rest of the API.
/// </summary>
public static class FaultInjectionApi
{
    public static IEndpointRouteBuilder MapFaultInjection(this IEndpointRouteBuilder app)
    {
        var faults = app.MapGroup("/api/faults");
        faults.MapGet("/ranks", (RunningWorkers workers) => Results.Json(workers.Running().Select(Describe).ToList(), ApiJson.Options));
        faults.MapPost("/kill-rank", KillRank);
        return app;
    }

    /// <summary>Fails the running ranks that match (every given filter); 404 when none does.</summary>
    static IResult KillRank(string? experiment, int? stage, int? rank, RunningWorkers workers, ILoggerFactory logs)
    {
        var victims = workers.Running()
            .Where(w => (experiment is null || w.Assignment.ExperimentId == experiment)
                        && (stage is null || w.Assignment.StageIndex == stage)
                        && (rank is null || w.Assignment.Rank == rank))
            .ToList();
        if (victims.Count == 0)
            return Results.Json(new ApiError("no running rank on this silo matches (see GET /api/faults/ranks)"), ApiJson.Options, statusCode: 404);
        var log = logs.CreateLogger(typeof(FaultInjectionApi));
        foreach (var victim in victims)
        {
            log.LogWarning("Fault injection: failing rank {Rank} of stage {Stage} of {Experiment} (generation {Generation})",
                victim.Assignment.Rank, victim.Assignment.StageIndex, victim.Assignment.ExperimentId, victim.Generation);
            victim.InjectFault("fault injected by POST /api/faults/kill-rank");
        }
        return Results.Json(victims.Select(Describe).ToList(), ApiJson.Options);
    }

    static RankDto Describe(TrainerWorker worker) =>
        new(worker.Assignment.ExperimentId, worker.Assignment.StageIndex, worker.Assignment.Rank, worker.Assignment.WorldSize, worker.Generation);

    public sealed record RankDto(string Experiment, int StageIndex, int Rank, int WorldSize, long Generation);
}
