using Orleans.TestingHost;
using Tessera.Grains;
using Tessera.Infra.Specs;
using Tessera.Tests.Cluster;

namespace Tessera.Tests.Reliability.Fuzz;

/// <summary>
/// Mutated specs submitted to a running silo: each is refused with the parser's error, the experiment grain stays
/// unsubmitted, the scheduler lists nothing, and nothing is written to the artifact store.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class SiloSpecFuzzTests : IAsyncLifetime
{
    const int Submissions = 40;
    readonly string _runs = Path.Combine(Path.GetTempPath(), $"tessera-fuzz-{Guid.NewGuid():N}");
    InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TestSilos.StartAsync(_runs, silos: 1, torchThreads: 1);

    public Task DisposeAsync() => TestSilos.StopAsync(_cluster, _runs);

    [Fact]
    public async Task RefusedSpecsChangeNoGrainAndWriteNoArtifact()
    {
        var examples = SpecFuzzTests.Examples();
        int submitted = 0;
        for (int i = 0; submitted < Submissions; i++)
        {
            string yaml = SpecFuzzTests.MutatedSpec(examples, i), file = $"fuzz-{i}.yaml";
            string parseError;
            try { SpecParser.Parse(yaml, file); continue; } // only the specs the parser refuses
            catch (SpecException e) { parseError = e.Message; }

            var grain = _cluster.Client.GetGrain<IExperimentGrain>($"fuzz-{i}");
            var refused = await Assert.ThrowsAsync<ArgumentException>(() => grain.Submit(new ExperimentSubmission(yaml, file, DateTimeOffset.UtcNow)));
            Assert.Equal(parseError, refused.Message);
            await Assert.ThrowsAsync<KeyNotFoundException>(() => grain.GetStatus());
            submitted++;
        }
        Assert.Empty(await _cluster.Client.GetGrain<ISchedulerGrain>(0).List());
        Assert.False(Directory.Exists(_runs) && Directory.EnumerateFileSystemEntries(_runs, "fuzz-*", SearchOption.AllDirectories).Any(),
            "a refused spec left something in the artifact store");
    }
}
