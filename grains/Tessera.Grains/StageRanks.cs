using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace Tessera.Grains;

/// <summary>
/// The ranks of an experiment's running stage: which generation they belong to, the rendezvous where they register
/// their collective endpoints, and stopping them. Memory only: a new generation starts them afresh.
/// </summary>
sealed class StageRanks(IGrainFactory grains, string experimentId, ILogger logger)
{
    /// <summary>One start of a stage: who has registered where, and the ring's secret.</summary>
    sealed record Ring(string Stage, long Generation, string[] Endpoints, string Secret);

    Ring? _ring;

    /// <summary>A stage's ranks were started and not stopped since.</summary>
    public bool Running => _ring is not null;

    /// <summary>Opens the rendezvous of a new generation of <paramref name="ranks"/> ranks, with a fresh secret.</summary>
    public void Form(string stage, long generation, int ranks) =>
        _ring = new Ring(stage, generation, Enumerable.Repeat("", ranks).ToArray(),
            Convert.ToHexString(RandomNumberGenerator.GetBytes(32)));

    /// <summary>Forgets the ranks without telling them (they finished, or were told already).</summary>
    public void Forget() => _ring = null;

    public ITrainerGrain Trainer(string stage, int rank) => grains.GetGrain<ITrainerGrain>($"{experimentId}/{stage}/{rank}");

    /// <summary>
    /// Registers a rank's endpoint (idempotent) and returns the ring so far, with the secret once it is complete.
    /// <paramref name="whyStale"/> explains the refusal when the rank is not of the running generation.
    /// </summary>
    public RingMembership Join(int stageIndex, long generation, int rank, string endpoint, bool stageOpen, Func<string> whyStale)
    {
        if (_ring is null || !stageOpen || generation != _ring.Generation)
            throw new InvalidOperationException($"rank {rank} of generation {generation} (stage index {stageIndex}) is stale: experiment '{experimentId}' {whyStale()}");
        if (rank < 0 || rank >= _ring.Endpoints.Length)
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"stage '{_ring.Stage}' has ranks 0..{_ring.Endpoints.Length - 1}");
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out _))
            throw new ArgumentException($"rank {rank} registered '{endpoint}', which is not an absolute URI", nameof(endpoint));
        _ring.Endpoints[rank] = endpoint;
        bool complete = _ring.Endpoints.All(e => e.Length > 0);
        return new RingMembership(_ring.Endpoints.ToArray(), complete ? _ring.Secret : "", generation);
    }

    /// <summary>Asks every rank of the running stage to stop (a failed or cancelled experiment leaves none training).</summary>
    public async Task StopRunning()
    {
        if (_ring is not { } ring) return;
        _ring = null;
        await StopAll(ring.Stage, ring.Endpoints.Length);
    }

    /// <summary>
    /// Tells every rank of a stage to stop. A rank whose silo is gone cannot answer: that must not stop the others
    /// or what comes next (a restart), so each failure is logged, and the wait is bounded.
    /// </summary>
    public async Task StopAll(string stage, int ranks)
    {
        var stops = Enumerable.Range(0, ranks).Select(async rank =>
        {
            try { await Trainer(stage, rank).Stop(); }
            catch (Exception e) { logger.LogWarning("Rank {Rank} of stage {Stage} did not confirm it stopped: {Problem}", rank, stage, e.Message); }
        });
        try { await Task.WhenAll(stops).WaitAsync(TimeSpan.FromSeconds(10)); }
        catch (TimeoutException) { logger.LogWarning("Some ranks of stage {Stage} did not answer within 10 s (their silo may be gone)", stage); }
    }
}
