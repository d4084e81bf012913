using Tessera.Cli;
using Tessera.Grains;
using Tessera.Tests.Cluster;

namespace Tessera.Tests.Cli;

/// <summary>
/// The CLI's submit retries (<see cref="Submissions"/>) against a real silo, through a wrapper around the real submission
/// grain that loses answers: the call reaches the cluster and is taken, but the client sees a timeout.
/// </summary>
public sealed class SubmitRetryTests : IAsyncLifetime
{
    readonly string _runs = Path.Combine(Path.GetTempPath(), $"tessera-retry-{Guid.NewGuid():N}");
    Orleans.TestingHost.InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestSilos.StartAsync(_runs, silos: 1, torchThreads: 1);

    public Task DisposeAsync() => TestSilos.StopAsync(_cluster, _runs);

    IClusterClient Client => _cluster.Client;

    /// <summary>Passes every call to the real grain; the first <c>lose</c> answers are dropped as a timeout would drop them.</summary>
    sealed class LosingAnswers(ISubmissionGrain real, int lose) : ISubmissionGrain
    {
        public List<(string Id, ExperimentSubmission Submission)> Calls { get; } = [];

        public async Task<ExperimentStatus> Submit(string experimentId, ExperimentSubmission submission)
        {
            Calls.Add((experimentId, submission));
            var status = await real.Submit(experimentId, submission);
            if (Calls.Count <= lose) throw new TimeoutException($"Response did not arrive on time (answer {Calls.Count} lost by the test)");
            return status;
        }

        public Task<string?> ExperimentId() => real.ExperimentId();
    }

    /// <summary>A valid spec whose stage never trains: its dataset is not in the store, so the experiment fails as it starts.</summary>
    static ExperimentSubmission Submission() => new("""
        experiment: retry
        device: cpu
        dataset:
          name: absent
          source: store
        stages:
          - kind: classifier
            steps: 5
        """, "retry.yaml", DateTimeOffset.UtcNow);

    [Fact]
    public async Task AnAnswerLostToATimeoutIsAskedForAgainUnderTheSameKeyAndStartsNothingTwice()
    {
        string key = Submissions.NewKey(), id = $"retry-{Guid.NewGuid():N}"[..20];
        var grain = new LosingAnswers(Client.GetGrain<ISubmissionGrain>(key), lose: 2);
        var retries = new List<int>();
        var status = await Submissions.SubmitAsync(grain, key, "the test silo", id, Submission(), attempts: 3, (attempt, _) => retries.Add(attempt), CancellationToken.None);

        Assert.Equal(id, status.Id);
        Assert.Equal(new[] { 1, 2 }, retries);
        Assert.Equal(3, grain.Calls.Count);
        Assert.All(grain.Calls, call => Assert.Equal((id, grain.Calls[0].Submission), call)); // the same id and submission each time
        Assert.Single(await Client.GetGrain<ISchedulerGrain>(0).List(), e => e.Name == "retry");
    }

    [Fact]
    public async Task AfterTheLastAttemptTheErrorNamesTheClusterAndTheKey()
    {
        string key = Submissions.NewKey(), id = $"retry-{Guid.NewGuid():N}"[..20];
        var grain = new LosingAnswers(Client.GetGrain<ISubmissionGrain>(key), lose: 5);
        var e = await Assert.ThrowsAsync<SubmissionUnansweredException>(() =>
            Submissions.SubmitAsync(grain, key, "127.0.0.1:40100", id, Submission(), attempts: 2, null, CancellationToken.None));
        Assert.Equal(2, grain.Calls.Count);
        Assert.StartsWith("the cluster at 127.0.0.1:40100 did not answer the submission after 2 attempt(s) (last: TimeoutException: Response did not arrive on time", e.Message);
        Assert.Contains($"--idempotency-key {key}` prints its id if so, and starts it once if not", e.Message);
        // It was taken: the key names it, and submitting under the key again returns it.
        Assert.Equal(id, await Client.GetGrain<ISubmissionGrain>(key).ExperimentId());
        var again = await Submissions.SubmitAsync(Client.GetGrain<ISubmissionGrain>(key), key, "the test silo", "another-id", Submission(), 1, null, CancellationToken.None);
        Assert.Equal(id, again.Id);
    }

    [Fact]
    public async Task ARefusalIsNotRetried()
    {
        string key = Submissions.NewKey();
        var grain = new LosingAnswers(Client.GetGrain<ISubmissionGrain>(key), lose: 0);
        await Assert.ThrowsAsync<ArgumentException>(() => Submissions.SubmitAsync(grain, key, "the test silo", "broken-1",
            new ExperimentSubmission("experiment: broken\nstages: []\n", "broken.yaml", DateTimeOffset.UtcNow), 5, null, CancellationToken.None));
        Assert.Single(grain.Calls);
        Assert.Null(await Client.GetGrain<ISubmissionGrain>(key).ExperimentId());
    }
}
