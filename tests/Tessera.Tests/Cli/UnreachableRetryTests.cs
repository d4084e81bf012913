using Orleans.Runtime;
using Tessera.Cli.Output;

namespace Tessera.Tests.Cli;

/// <summary>How the CLI's status polls ride out a dead silo: retry timeouts and Orleans failures, say so once, give up bounded.</summary>
public sealed class UnreachableRetryTests
{
    static readonly UnreachableRetry Quick = new(callTimeout: TimeSpan.FromMilliseconds(100), patience: TimeSpan.FromMilliseconds(600), pause: TimeSpan.FromMilliseconds(10));
    // The same, with patience far beyond any scheduling delay: on a loaded machine 600 ms can pass between two attempts,
    // which ended an outage the test means to be ridden out (seen once in CI).
    static readonly UnreachableRetry Patient = new(callTimeout: TimeSpan.FromMilliseconds(100), patience: TimeSpan.FromSeconds(60), pause: TimeSpan.FromMilliseconds(10));

    [Fact]
    public async Task TimeoutsAndUnavailableSilosAreRetriedWithOneMessagePerOutage()
    {
        int calls = 0;
        var said = new List<string>();
        string answer = await Patient.RunAsync(() => ++calls switch
        {
            1 => throw new TimeoutException("Response did not arrive on time in 00:00:30"),
            2 => Task.FromException<string>(new SiloUnavailableException("silo 127.0.0.1:11112 is unavailable")),
            3 => new TaskCompletionSource<string>().Task, // never answers: cut off by the call timeout
            _ => Task.FromResult("running"),
        }, said.Add, CancellationToken.None);

        Assert.Equal("running", answer);
        Assert.Equal(4, calls);
        Assert.Equal(2, said.Count);
        Assert.StartsWith("silo unreachable (TimeoutException: Response did not arrive", said[0]);
        Assert.StartsWith("silo reachable again after", said[1]);
    }

    [Fact]
    public async Task AnOutageLongerThanThePatienceEndsWithATimeoutNamingIt()
    {
        var said = new List<string>();
        var error = await Assert.ThrowsAsync<TimeoutException>(() =>
            Quick.RunAsync(() => new TaskCompletionSource<string>().Task, said.Add, CancellationToken.None));
        Assert.StartsWith("the cluster did not answer for 1 s", error.Message);
        Assert.Single(said);
    }

    [Fact]
    public async Task AnAnswerThatIsAnErrorIsNotRetried()
    {
        int calls = 0;
        await Assert.ThrowsAsync<KeyNotFoundException>(() =>
            Quick.RunAsync<string>(() => { calls++; throw new KeyNotFoundException("no experiment with id 'x'"); }, _ => { }, CancellationToken.None));
        Assert.Equal(1, calls);
    }
}
