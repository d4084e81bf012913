using Microsoft.Extensions.DependencyInjection;
using Tessera.Grains;
using Tessera.Grains.Workers;
using Tessera.Stages;
using Tessera.Silo;
using Tessera.Tests.Servers;

namespace Tessera.Tests.Reliability;

/// <summary>
/// A stage restart while the scheduler cannot be reached. Found by SiloFailureTests: a SIGKILLed silo held the
/// scheduler grain, the surviving experiment's restart called it before membership had declared that silo dead, the
/// call was refused, and the restart stopped half-done, leaving the experiment "running" with nothing to start it
/// again. Here an outgoing call filter refuses the first scheduler calls the same way, on one real embedded silo.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class UnreachableSchedulerTests : IAsyncDisposable
{
    readonly string _runs = Path.Combine(Path.GetTempPath(), $"tessera-unreachable-{Guid.NewGuid():N}");

    /// <summary>Refuses the first <c>failures</c> calls to one scheduler method as a dead silo's refusal reads.</summary>
    sealed class RefusingScheduler(string method, int failures) : IOutgoingGrainCallFilter
    {
        int _left = failures;
        public int Refused;

        public Task Invoke(IOutgoingGrainCallContext context)
        {
            if (context.InterfaceMethod?.DeclaringType == typeof(ISchedulerGrain) && context.InterfaceMethod.Name == method &&
                Interlocked.Decrement(ref _left) >= 0)
            {
                Interlocked.Increment(ref Refused);
                throw new SiloUnavailableException("injected: the scheduler's silo is gone");
            }
            return context.Invoke();
        }
    }

    /// <summary>Runs <paramref name="body"/> against one embedded silo whose scheduler calls pass <paramref name="refusing"/>.</summary>
    async Task<T> OnSilo<T>(RefusingScheduler refusing, Func<IServiceProvider, IClusterClient, Task<T>> body)
    {
        await using var silo = TesseraWebHost.Build(new TesseraSiloOptions
        {
            ArtifactRoot = _runs, SiloPort = 0, GatewayPort = 0, HttpPort = 0, TorchThreads = 1, OrleansDashboard = false,
        }, builder => builder.Services.AddSingleton<IOutgoingGrainCallFilter>(refusing));
        await silo.StartAsync();
        try { return await body(silo.Services, silo.Services.GetRequiredService<IClusterClient>()); }
        finally { await silo.StopAsync(); }
    }

    [Fact]
    public async Task ARestartWhoseSlotsCannotBeGivenBackAsksAgainAndTheStageFinishesFromItsCheckpoint()
    {
        var refusing = new RefusingScheduler(nameof(ISchedulerGrain.Release), failures: 3);
        var done = await OnSilo(refusing, async (services, client) =>
        {
            string id = $"restart-{Guid.NewGuid():N}"[..16];
            await TinyExperiments.Submit(client, id, "max_restarts: 2\n" + TinyExperiments.TokenizerSpec("restart", steps: 80, logEvery: 5, checkpointEvery: 20));
            await TinyExperiments.WaitFor(client, id, s => s.Progress is { Step: >= 25 } || s.IsFinished, TimeSpan.FromMinutes(2));
            // A crashed rank, as fault injection fails one: the stage reports the failure and the experiment restarts it.
            services.GetRequiredService<RunningWorkers>().Running().Single().InjectFault("injected crash");
            return await TinyExperiments.WaitFor(client, id, s => s.IsFinished, TimeSpan.FromMinutes(2));
        });

        Assert.True(done.State == ExperimentState.Succeeded, $"{done.State}: {done.Error}");
        Assert.Equal(3, refusing.Refused); // the restart's own call, then the stage start's first two
        var metrics = Assert.Single(done.Completed).Metrics;
        Assert.Equal(80, metrics["steps"]);
        Assert.True(metrics.GetValueOrDefault("resumed_from_step") >= 20, $"resumed from step {metrics.GetValueOrDefault("resumed_from_step")}");
    }

    [Fact]
    public async Task AnExperimentWhoseEndTheSchedulerMissesStillEndsAndTellsItLater()
    {
        var refusing = new RefusingScheduler(nameof(ISchedulerGrain.Finished), failures: 2);
        await OnSilo(refusing, async (_, client) =>
        {
            string id = $"ending-{Guid.NewGuid():N}"[..15];
            await TinyExperiments.Submit(client, id, TinyExperiments.TokenizerSpec("ending", steps: 4));
            var done = await TinyExperiments.WaitUntilFinished(client, id);
            Assert.True(done.State == ExperimentState.Succeeded, $"{done.State}: {done.Error}");
            // The scheduler hears it in the end: the finished experiment holds no slot.
            var scheduler = client.GetGrain<ISchedulerGrain>(0);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while ((await scheduler.Snapshot()).Running.Any(g => g.Request.ExperimentId == id))
            {
                Assert.True(DateTime.UtcNow < deadline, "the scheduler still holds the finished experiment's slots after 30 s");
                await Task.Delay(200);
            }
            return done;
        });
        Assert.Equal(2, refusing.Refused);
    }

    public ValueTask DisposeAsync()
    {
        if (Directory.Exists(_runs)) Directory.Delete(_runs, recursive: true);
        return ValueTask.CompletedTask;
    }
}
