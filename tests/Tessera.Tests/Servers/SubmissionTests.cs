using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Tessera.Grains;
using Tessera.Silo;

namespace Tessera.Tests.Servers;

/// <summary>
/// Submissions under idempotency keys, the submission quota and the scheduler under a burst, on a cluster-mode silo with
/// its grain state in the test Redis. The experiments ask for more ranks (4) than the silo has slots (2), so they stay
/// queued without training; every test cancels what it started, so each sees an idle scheduler.
/// </summary>
public sealed class SubmissionTests : IAsyncLifetime
{
    const int Quota = 3;
    readonly string _runs = Path.Combine(Path.GetTempPath(), $"tessera-submit-{Guid.NewGuid():N}");
    string _redis = "";
    WebApplication _silo = null!;

    public async Task InitializeAsync()
    {
        _redis = await TestServers.FreshRedisDatabase(RedisDatabases.Submission);
        _silo = await StartSilo();
    }

    async Task<WebApplication> StartSilo()
    {
        var silo = TesseraWebHost.Build(new TesseraSiloOptions
        {
            ArtifactRoot = _runs, SiloPort = 0, GatewayPort = 0, HttpPort = 0, TorchThreads = 1, OrleansDashboard = false,
            RedisConnection = _redis, ClusterId = "submit", Slots = 2, SubmissionQuota = Quota,
        });
        await silo.StartAsync();
        return silo;
    }

    public async Task DisposeAsync()
    {
        await _silo.StopAsync();
        await _silo.DisposeAsync();
        if (Directory.Exists(_runs)) Directory.Delete(_runs, recursive: true);
    }

    IClusterClient Client => _silo.Services.GetRequiredService<IClusterClient>();
    ISchedulerGrain Scheduler => Client.GetGrain<ISchedulerGrain>(0);

    static string QueuedSpec(string name, string team) =>
        TinyExperiments.TokenizerSpec(name, steps: 1000, workers: 4).Replace("device: cpu", $"device: cpu\nteam: {team}");

    static ExperimentSubmission Submission(string yaml) => new(yaml, "queued.yaml", DateTimeOffset.UtcNow);

    static string NewId(string name) => $"{name}-{Guid.NewGuid():N}"[..20];

    async Task CancelAll(IEnumerable<string> ids)
    {
        foreach (string id in ids) await Client.GetGrain<IExperimentGrain>(id).Stop(StopRequest.Cancel);
    }

    [Fact]
    public async Task TheSameKeyReturnsTheSameExperimentAlsoAfterASiloRestart()
    {
        string key = $"key-{Guid.NewGuid():N}", spec = QueuedSpec("idem", "idem");
        string id = NewId("idem");
        var first = await Client.GetGrain<ISubmissionGrain>(key).Submit(id, Submission(spec));
        Assert.Equal(id, first.Id);
        // A retry proposes its own id and a later time (a script re-running with --idempotency-key): same experiment.
        var again = await Client.GetGrain<ISubmissionGrain>(key).Submit(NewId("idem"), Submission(spec));
        Assert.Equal(id, again.Id);
        Assert.Equal(first.SubmittedAt, again.SubmittedAt);
        Assert.Single(await Scheduler.List(), e => e.Name == "idem");

        var other = await Assert.ThrowsAsync<ArgumentException>(() =>
            Client.GetGrain<ISubmissionGrain>(key).Submit(NewId("idem"), Submission(QueuedSpec("idem", "other-team"))));
        Assert.Contains($"idempotency key '{key}' was already used to submit experiment '{id}' with another spec", other.Message);

        // A new silo on the same Redis: the key still names the experiment, and nothing new starts.
        await _silo.StopAsync();
        await _silo.DisposeAsync();
        _silo = await StartSilo();
        var afterRestart = await Client.GetGrain<ISubmissionGrain>(key).Submit(NewId("idem"), Submission(spec));
        Assert.Equal(id, afterRestart.Id);
        Assert.Equal(first.SubmittedAt, afterRestart.SubmittedAt);
        Assert.Single(await Scheduler.List(), e => e.Name == "idem");
        await CancelAll([id]);
    }

    [Fact]
    public async Task ExperimentsThatAreGoneStopHoldingTheirTeamsPlaceWhenTheTeamReachesItsQuota()
    {
        // Two registrations whose experiment grains never wrote a state (as when a silo dies between the scheduler's
        // count and the grain's first write), and a cancelled experiment whose 'finished' the scheduler never heard.
        var now = DateTimeOffset.UtcNow;
        var ghosts = Enumerable.Range(0, Quota - 1).Select(_ => NewId("ghost")).ToList();
        foreach (string ghost in ghosts) await Scheduler.Register(new ExperimentListing(ghost, "ghost", now, "ghosts"));
        string cancelled = (await Client.GetGrain<ISubmissionGrain>($"ghost-{Guid.NewGuid():N}").Submit(NewId("ghost"), Submission(QueuedSpec("ghost", "ghosts")))).Id;
        await Client.GetGrain<IExperimentGrain>(cancelled).Stop(StopRequest.Cancel);
        await Scheduler.Register(new ExperimentListing(cancelled, "ghost", now, "ghosts"));
        Assert.Equal(Quota, (await Scheduler.Snapshot()).Active!["ghosts"]);

        // The team is at its quota only on paper: the next submission is taken, and only it counts.
        string next = (await Client.GetGrain<ISubmissionGrain>($"ghost-next-{Guid.NewGuid():N}").Submit(NewId("ghost"), Submission(QueuedSpec("ghost", "ghosts")))).Id;
        Assert.Equal(1, (await Scheduler.Snapshot()).Active!["ghosts"]);
        // The stateless ones never were experiments and leave the list; the cancelled one stays listed.
        var listed = (await Scheduler.List()).Select(e => e.Id).ToList();
        Assert.DoesNotContain(listed, ghosts.Contains);
        Assert.Contains(cancelled, listed);
        Assert.Equal(ExperimentState.Pending, (await Client.GetGrain<IExperimentGrain>(next).GetStatus()).State);
        await CancelAll([next]);
    }

    [Fact]
    public async Task ATeamAtItsQuotaIsRefusedClearlyAndTheKeyStaysFree()
    {
        var ids = new List<string>();
        for (int i = 0; i < Quota; i++)
            ids.Add((await Client.GetGrain<ISubmissionGrain>($"quota-{i}-{Guid.NewGuid():N}").Submit(NewId("quota"), Submission(QueuedSpec("quota", "vision")))).Id);

        string refusedKey = $"quota-refused-{Guid.NewGuid():N}", refusedId = NewId("quota");
        var refused = await Assert.ThrowsAsync<SubmissionQuotaException>(() =>
            Client.GetGrain<ISubmissionGrain>(refusedKey).Submit(refusedId, Submission(QueuedSpec("quota", "vision"))));
        Assert.Equal(("vision", Quota, Quota), (refused.Team, refused.Quota, refused.Active));
        Assert.StartsWith($"team 'vision' is at its submission quota: {Quota} of {Quota} experiment(s) queued or running", refused.Message);
        Assert.Null(await Client.GetGrain<ISubmissionGrain>(refusedKey).ExperimentId());
        var counted = await Scheduler.Snapshot();
        Assert.Equal((Quota, (int?)Quota), (counted.Active!["vision"], counted.SubmissionQuota));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => Client.GetGrain<IExperimentGrain>(refusedId).GetStatus());
        Assert.DoesNotContain(await Scheduler.List(), e => e.Id == refusedId);

        // Another team is not held back; a finished experiment frees its team's place, and the refused key now works.
        ids.Add((await Client.GetGrain<ISubmissionGrain>($"quota-audio-{Guid.NewGuid():N}").Submit(NewId("quota"), Submission(QueuedSpec("quota", "audio")))).Id);
        await Client.GetGrain<IExperimentGrain>(ids[0]).Stop(StopRequest.Cancel);
        var accepted = await Client.GetGrain<ISubmissionGrain>(refusedKey).Submit(refusedId, Submission(QueuedSpec("quota", "vision")));
        Assert.Equal(refusedId, accepted.Id);
        ids.Add(refusedId);

        // Concurrent submissions of one team: exactly as many as its quota has room for get through.
        await CancelAll(ids);
        var burst = await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
        {
            try { return (await Client.GetGrain<ISubmissionGrain>($"quota-burst-{i}-{Guid.NewGuid():N}").Submit(NewId("quota"), Submission(QueuedSpec("quota", "vision")))).Id; }
            catch (SubmissionQuotaException) { return null; }
        }));
        Assert.Equal(Quota, burst.Count(id => id is not null));
        await CancelAll(burst.OfType<string>());
    }

    [Fact]
    public async Task ABurstOfReserveCallsIsAnsweredAndKeptAsAWhole()
    {
        // 300 experiments ask for a slot at once, as many times as queued stages ask again (every second each).
        for (var deadline = DateTime.UtcNow.AddMinutes(1); (await Scheduler.Snapshot()).Silos.Count == 0;)
        {
            Assert.True(DateTime.UtcNow < deadline, "the silo never offered its slots to the scheduler");
            await Task.Delay(100);
        }
        var requests = Enumerable.Range(0, 300)
            .Select(i => new SlotRequest($"burst-{i:D3}", 0, 1, Priority: i % 3, Team: "burst", Stage: "s")).ToList();
        var answers = await Task.WhenAll(requests.Select(r => Scheduler.Reserve(r)));
        var granted = answers.OfType<SlotGrant>().Select(g => g.Request.ExperimentId).ToHashSet();
        Assert.Equal(2, granted.Count); // the silo's two slots, to the first two that asked
        var again = await Task.WhenAll(requests.Select(r => Scheduler.Reserve(r)));
        Assert.Equal(granted, again.OfType<SlotGrant>().Select(g => g.Request.ExperimentId).ToHashSet());

        var before = await Scheduler.Snapshot();
        Assert.Equal(298, before.Queue.Count);
        Assert.Equal(granted, before.Running.Select(g => g.Request.ExperimentId).ToHashSet());
        // Freed slots go to the queue's head: the highest priority, oldest first.
        var next = before.Queue.Take(2).Select(q => q.Request.ExperimentId).ToHashSet();
        Assert.All(next, id => Assert.Equal(2, requests.Single(r => r.ExperimentId == id).Priority));
        await Task.WhenAll(granted.Select(id => Scheduler.Finished(id)));
        var after = await Scheduler.Snapshot();
        Assert.Equal(next, after.Running.Select(g => g.Request.ExperimentId).ToHashSet());

        // What was answered is what was written: a new silo's scheduler reads the same queue back from Redis.
        await _silo.StopAsync();
        await _silo.DisposeAsync();
        _silo = await StartSilo();
        var reloaded = await Scheduler.Snapshot();
        // The new silo's slots may already have gone to the queue's head; the rest must be as it was, in order.
        var queued = after.Queue.Select(q => q.Request.ExperimentId).ToList();
        var stillQueued = reloaded.Queue.Select(q => q.Request.ExperimentId).ToList();
        Assert.Equal(queued.Skip(queued.Count - stillQueued.Count), stillQueued);
        Assert.Equal(queued.Concat(after.Running.Select(g => g.Request.ExperimentId)).ToHashSet(),
            stillQueued.Concat(reloaded.Running.Select(g => g.Request.ExperimentId)).ToHashSet());
        await Task.WhenAll(requests.Select(r => Scheduler.Finished(r.ExperimentId)));
        Assert.Empty((await Scheduler.Snapshot()).Queue);
    }
}
