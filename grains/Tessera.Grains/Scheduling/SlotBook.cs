namespace Tessera.Grains;

/// <summary>
/// The scheduler's bookkeeping on its state, without Orleans: which slots are free, who is next, where ranks go.
/// Rules: the queue is served by priority (high first), then age. A request whose team is at its quota is passed
/// over (it does not hold up other teams); the first request that does not fit in the free slots stops the round,
/// so a large stage is never starved by small ones slipping past it. Ranks are packed onto the silos with the most
/// free slots, so a ring spans as few silos as it can. A draining silo takes no new ranks. A request that may start on
/// fewer ranks (<see cref="SlotRequest.MinRanks"/>) gets every free slot up to its full count when fewer are free.
/// </summary>
public static class SlotBook
{
    public static IEnumerable<QueueEntry> InOrder(IEnumerable<QueueEntry> queue) =>
        queue.OrderByDescending(e => e.Request.Priority).ThenBy(e => e.QueuedAt).ThenBy(e => e.Request.ExperimentId, StringComparer.Ordinal);

    /// <summary>Slots in use per live silo (grants on silos that are gone count nowhere).</summary>
    public static Dictionary<string, int> InUse(SchedulerGrainState state)
    {
        var used = state.Silos.Keys.ToDictionary(s => s, _ => 0);
        foreach (var silo in state.Grants.Values.SelectMany(g => g.Silos))
            if (used.ContainsKey(silo)) used[silo]++;
        return used;
    }

    static long TeamInUse(SchedulerGrainState state, string team) =>
        state.Grants.Values.Where(g => g.Request.Team == team).Sum(g => (long)g.Silos.Count);

    /// <summary>Grants what the free slots allow, in queue order; returns how many requests it granted.</summary>
    public static int Admit(SchedulerGrainState state, DateTimeOffset now)
    {
        var used = InUse(state);
        var free = state.Silos.ToDictionary(s => s.Key, s => state.Draining.Contains(s.Key) ? 0 : (long)s.Value.Slots - used[s.Key]);
        int granted = 0;
        foreach (var entry in InOrder(state.Queue).ToList())
        {
            var request = entry.Request;
            long allowed = QuotaLeft(state, request.Team);
            if (allowed < request.Least) continue;
            long available = free.Values.Sum();
            if (available < request.Least) break;
            var silos = Place(free, (int)Math.Min(request.Ranks, Math.Min(available, allowed)));
            state.Grants[request.ExperimentId] = new SlotGrant(request, silos, now);
            state.Queue.Remove(entry);
            granted++;
        }
        return granted;
    }

    static long QuotaLeft(SchedulerGrainState state, string team) =>
        state.Quotas.TryGetValue(team, out int quota) ? quota - TeamInUse(state, team) : long.MaxValue;

    /// <summary>Takes <paramref name="ranks"/> slots from <paramref name="free"/>, fullest-free silo first; one silo per rank.</summary>
    static List<string> Place(Dictionary<string, long> free, int ranks)
    {
        var silos = new List<string>(ranks);
        foreach (var silo in free.Where(f => f.Value > 0).OrderByDescending(f => f.Value).ThenBy(f => f.Key, StringComparer.Ordinal).Select(f => f.Key).ToList())
        {
            long take = Math.Min(free[silo], ranks - silos.Count);
            for (long i = 0; i < take; i++) silos.Add(silo);
            free[silo] -= take;
            if (silos.Count == ranks) break;
        }
        return silos;
    }

    /// <summary>
    /// Whether a grant still answers a request asked again: the same stage and rank counts, and every one of its silos
    /// still in the inventory (a grant on a silo that died is given up, and the request queued afresh).
    /// </summary>
    public static bool StillHolds(SchedulerGrainState state, SlotGrant held, SlotRequest request) =>
        held.Request.StageIndex == request.StageIndex && held.Request.Ranks == request.Ranks && held.Request.Least == request.Least
        && held.Silos.All(state.Silos.ContainsKey);

    /// <summary>Why a queued request is still waiting, for `tessera list` and `tessera cluster`.</summary>
    public static string Waiting(SchedulerGrainState state, SlotRequest request, int position)
    {
        string needs = request.Least == request.Ranks ? $"{request.Ranks}" : $"{request.Least} to {request.Ranks}";
        if (state.Quotas.TryGetValue(request.Team, out int quota) && TeamInUse(state, request.Team) + request.Least > quota)
            return $"team '{request.Team}' at its quota ({TeamInUse(state, request.Team)} of {quota} slots in use)";
        long capacity = state.Silos.Where(s => !state.Draining.Contains(s.Key)).Sum(s => (long)s.Value.Slots);
        if (capacity < request.Least)
            return $"needs {needs} slots, the cluster has {capacity}";
        long free = capacity - InUse(state).Where(u => !state.Draining.Contains(u.Key)).Sum(u => (long)u.Value);
        return position == 1 ? $"needs {needs} slots, {free} free" : $"behind {position - 1} other request(s)";
    }
}
