using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace Tessera.Grains;

/// <summary>
/// The experiments submitted, the slot inventory and the queue (rules in <see cref="SlotBook"/>). State is persisted
/// on every change, so a scheduler reactivated on another silo keeps its queue and grants; silos re-register now and
/// then, and on activation the inventory drops silos that membership no longer lists as active.
/// <para/>
/// Reentrant, so that a burst of calls (200 submissions, each experiment then asking for slots every second while it
/// waits) does not queue up behind one storage write per call, which made the calls far back time out. It is safe
/// because every method reads and changes the state without awaiting in between (a turn runs alone on the grain
/// until its first await; <see cref="Register"/> asks experiments whether they are still there first, then checks
/// and counts in one turn), and then awaits one shared write (<see cref="CoalescedWrites"/>) before it answers, so
/// nothing it hands out is lost if its silo dies. A request asked again unchanged writes nothing.
/// </summary>
[Reentrant]
public sealed class SchedulerGrain(
    [PersistentState("scheduler", GrainStorage.Experiments)] IPersistentState<SchedulerGrainState> state,
    SubmissionQuota submissionQuota,
    ILogger<SchedulerGrain> logger)
    : Grain, ISchedulerGrain
{
    readonly CoalescedWrites _writes = new(() => state.WriteStateAsync());

    SchedulerGrainState S => state.State;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.Silos.Count == 0) return;
        var active = (await GrainFactory.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true)).Keys
            .Select(s => s.ToParsableString()).ToHashSet();
        var gone = S.Silos.Where(s => !active.Contains(s.Key)).ToList();
        foreach (var silo in gone) S.Silos.Remove(silo.Key);
        if (gone.Count > 0)
            await Changed($"silo(s) {string.Join(", ", gone.Select(s => $"{s.Value.Name} ({s.Key})"))} left while the scheduler was away; their slots are gone");
        foreach (var silo in gone) MoveStagesOn(silo.Key, $"silo {silo.Value.Name} is gone");
    }

    public async Task Register(ExperimentListing experiment)
    {
        bool Listed() => S.Experiments.Any(e => e.Id == experiment.Id);
        if (S.Active.ContainsKey(experiment.Id) && Listed()) return;
        if (submissionQuota.PerTeam is int quota && CountedFor(experiment.Team) >= quota)
            await ForgetVanished(experiment.Team);
        // From here on no await until the change is made: the check and the count are one turn.
        if (S.Active.ContainsKey(experiment.Id) && Listed()) return;
        if (submissionQuota.PerTeam is int limit && CountedFor(experiment.Team) is var active && active >= limit)
            throw new SubmissionQuotaException(experiment.Team, limit, active);
        S.Active[experiment.Id] = experiment.Team;
        if (!Listed()) S.Experiments.Add(experiment);
        S.TrimListing();
        await _writes.Flush();
    }

    int CountedFor(string team) => S.Active.Values.Count(t => t == team);

    /// <summary>How long a team at its quota waits for one of its experiments to say it is still queued or running.</summary>
    static readonly TimeSpan StillThereTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Before a team is refused at its quota: stops counting those of its experiments that are gone, so a lost message
    /// cannot hold a team's place for good. Gone is an experiment that finished without the scheduler hearing it, or one
    /// whose grain died between <see cref="Register"/> and its first state write (it has no state: a retry under the
    /// same idempotency key registers it again, and it leaves the list). One that does not answer within <see cref="StillThereTimeout"/> stays
    /// counted. An experiment still inside its submission answers after it, so it is never taken for gone.
    /// </summary>
    async Task ForgetVanished(string team)
    {
        var ids = S.Active.Where(a => a.Value == team).Select(a => a.Key).ToList();
        var verdicts = await Task.WhenAll(ids.Select(async id =>
        {
            try
            {
                var status = await GrainFactory.GetGrain<IExperimentGrain>(id).GetStatus().WaitAsync(StillThereTimeout);
                return (id, gone: status.IsFinished ? $"it is {status.State.Name()}" : null, exists: true);
            }
            catch (KeyNotFoundException) { return (id, gone: "it has no state: its grain stopped before its first write", exists: false); }
            catch (TimeoutException) { return (id, gone: (string?)null, exists: true); }
        }));
        int forgotten = 0;
        foreach (var (id, gone, exists) in verdicts)
        {
            if (gone is null || !S.Active.Remove(id)) continue;
            if (!exists) S.Experiments.RemoveAll(e => e.Id == id); // it never was an experiment: nothing to list
            forgotten++;
            logger.LogWarning("Scheduler: experiment {Id} of team {Team} no longer counts against its submission quota: {Reason}", id, team, gone);
        }
        if (forgotten > 0) await _writes.Flush();
    }

    public async Task Finished(string experimentId)
    {
        bool counted = S.Active.Remove(experimentId);
        bool held = S.Grants.Remove(experimentId, out var grant);
        bool queued = S.Queue.RemoveAll(e => e.Request.ExperimentId == experimentId) > 0;
        if (held || queued) await Changed(held ? $"{experimentId} released its slots" : null, grant?.Request);
        else if (counted) await _writes.Flush();
    }

    public Task<IReadOnlyList<ExperimentListing>> List() =>
        Task.FromResult<IReadOnlyList<ExperimentListing>>(S.Experiments.OrderByDescending(e => e.SubmittedAt).ToList());

    public async Task RegisterSilo(string silo, string name, int slots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        if (S.Silos.TryGetValue(silo, out var known) && known.Slots == slots) return;
        S.Silos[silo] = new SiloEntry(name, slots);
        await Changed($"silo {name} ({silo}) offers {Describe(slots)} slot(s)");
    }

    public async Task RemoveSilo(string silo)
    {
        S.Draining.Remove(silo);
        if (!S.Silos.Remove(silo, out var entry)) return;
        await Changed($"silo {entry.Name} ({silo}) left; its slots are gone");
        // A rank that died with its silo reports nothing; a stage of one rank has no peer to notice. So the stages
        // that held slots there re-form elsewhere, as when draining (a restart already under way ignores this).
        MoveStagesOn(silo, $"silo {entry.Name} is gone");
    }

    public async Task<DrainResult> Drain(string silo)
    {
        var matches = S.Silos.Where(s => s.Key == silo || s.Value.Name == silo || s.Key.StartsWith(silo + "@", StringComparison.Ordinal)).ToList();
        if (matches.Count != 1)
            throw new ArgumentException(matches.Count == 0
                ? $"no live silo '{silo}' (known: {string.Join(", ", S.Silos.Select(s => $"{s.Value.Name} {s.Key}"))})"
                : $"'{silo}' names {matches.Count} silos; give the full address");
        var (address, entry) = (matches[0].Key, matches[0].Value);
        if (S.Draining.Add(address)) await Changed($"draining silo {entry.Name} ({address}): no new ranks go there");
        return new DrainResult(address, entry.Name, MoveStagesOn(address, $"silo {entry.Name} is draining"));
    }

    /// <summary>
    /// Each stage holding slots on <paramref name="silo"/> re-forms on other slots from its last checkpoint (not awaited: the
    /// experiment calls back into this grain to release and reserve, which must not wait on this turn).
    /// </summary>
    List<SlotGrant> MoveStagesOn(string silo, string reason)
    {
        var affected = S.Grants.Values.Where(g => g.Silos.Contains(silo)).ToList();
        foreach (var grant in affected)
            GrainFactory.GetGrain<IExperimentGrain>(grant.Request.ExperimentId).Stop(StopRequest.Move(grant.Request.StageIndex, reason)).Ignore();
        return affected;
    }

    public async Task<SlotGrant?> Reserve(SlotRequest request)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(request.Ranks, 1);
        if (S.Grants.TryGetValue(request.ExperimentId, out var held))
        {
            if (SlotBook.StillHolds(S, held, request))
            {
                // Granted by an earlier change whose write may still be under way: the grant leaves once it is durable.
                await _writes.Settled();
                return held;
            }
            S.Grants.Remove(request.ExperimentId);
        }
        int queued = S.Queue.FindIndex(e => e.Request.ExperimentId == request.ExperimentId);
        // Asked again while waiting (every second): nothing changed, so nothing to write, and nothing new to admit,
        // since every change that frees slots admits at once.
        if (held is null && queued >= 0 && S.Queue[queued].Request == request)
        {
            await _writes.Settled();
            return null;
        }
        if (queued < 0)
            S.Queue.Add(new QueueEntry(request, DateTimeOffset.UtcNow));
        else if (S.Queue[queued].Request != request)
            S.Queue[queued] = S.Queue[queued] with { Request = request };
        await Changed(queued < 0 ? $"{request.ExperimentId} asks for {request.Ranks} slot(s)" : null, request);
        // A change that arrived while this one was written may have granted the slots; its write may still be under way.
        await _writes.Settled();
        return S.Grants.GetValueOrDefault(request.ExperimentId);
    }

    public async Task Release(string experimentId)
    {
        bool held = S.Grants.Remove(experimentId, out var grant);
        bool queued = S.Queue.RemoveAll(e => e.Request.ExperimentId == experimentId) > 0;
        if (held || queued) await Changed(held ? $"{experimentId} released its slots" : null, grant?.Request);
    }

    public async Task SetQuota(string team, int? slots)
    {
        if (slots is int n) { ArgumentOutOfRangeException.ThrowIfNegative(n); S.Quotas[team] = n; }
        else S.Quotas.Remove(team);
        await Changed($"team '{team}' quota: {(slots is null ? "none" : slots)}");
    }

    public Task<ClusterSnapshot> Snapshot()
    {
        var used = SlotBook.InUse(S);
        var silos = S.Silos.OrderBy(s => s.Value.Name, StringComparer.Ordinal)
            .Select(s => new SiloSlots(s.Key, s.Value.Name, s.Value.Slots, used[s.Key], S.Draining.Contains(s.Key))).ToList();
        var queue = SlotBook.InOrder(S.Queue)
            .Select((e, i) => new QueuedRequest(e.Request, i + 1, e.QueuedAt, SlotBook.Waiting(S, e.Request, i + 1))).ToList();
        var running = S.Grants.Values.OrderBy(g => g.GrantedAt).ToList();
        var active = S.Active.Values.GroupBy(team => team).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count());
        return Task.FromResult(new ClusterSnapshot(silos, running, queue, new Dictionary<string, int>(S.Quotas), active, submissionQuota.PerTeam));
    }

    /// <summary>
    /// Serves the queue with what is now free, then persists; every change goes through here. What concerns one
    /// experiment is logged in its scope, so it also lands in that experiment's log.
    /// </summary>
    async Task Changed(string? what, SlotRequest? about = null)
    {
        if (what is not null)
        {
            using var scope = about is null ? null : ExperimentLogScope.Begin(logger, about.ExperimentId, NullIfEmpty(about.Stage));
            logger.LogInformation("Scheduler: {Change}", what);
        }
        foreach (var grant in Admit())
        {
            using var scope = ExperimentLogScope.Begin(logger, grant.Request.ExperimentId, NullIfEmpty(grant.Request.Stage));
            logger.LogInformation("Scheduler: {Experiment} granted {Ranks} slot(s) on {Silos}", grant.Request.ExperimentId,
                grant.Silos.Count, string.Join(", ", grant.Silos.Distinct().Select(s => S.Silos.TryGetValue(s, out var e) ? e.Name : s)));
        }
        await _writes.Flush();
    }

    static string? NullIfEmpty(string stage) => stage.Length == 0 ? null : stage;

    List<SlotGrant> Admit()
    {
        var before = S.Grants.Keys.ToHashSet();
        SlotBook.Admit(S, DateTimeOffset.UtcNow);
        return S.Grants.Where(g => !before.Contains(g.Key)).Select(g => g.Value).ToList();
    }

    static string Describe(int slots) => slots == SchedulerLimits.Unlimited ? "unlimited" : slots.ToString();
}
