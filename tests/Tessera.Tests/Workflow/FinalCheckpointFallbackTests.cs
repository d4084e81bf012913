using Tessera.Grains;
using Tessera.Stages;
using Tessera.Infra.Storage;
using Tessera.Tests.Cluster;
using Tessera.Tests.Servers;

namespace Tessera.Tests.Workflow;

/// <summary>
/// A stage's final checkpoint has a good copy in its resume slots: when the final one is found corrupt on read (a bit
/// flipped on disk), a later stage reports it and loads the copy; with the copy spoiled too, the corruption stands.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class FinalCheckpointFallbackTests : IAsyncDisposable
{
    readonly string _runs = Path.Combine(Path.GetTempPath(), $"tessera-final-{Guid.NewGuid():N}");

    /// <summary>A second experiment that tokenizes with the first one's tokenizer, so it reads that final checkpoint.</summary>
    static string TokenizeSpec(string upstream)
    {
        string tokenizer = TinyExperiments.TokenizerSpec("downstream", steps: 1);
        return tokenizer[..tokenizer.IndexOf("stages:", StringComparison.Ordinal)] + $"stages:\n  - kind: tokenize\n    tokenizer: {upstream}/tokenizer\n";
    }

    [Fact]
    public async Task ACorruptFinalCheckpointFallsBackToItsCopyAndFailsWithoutOne()
    {
        await using var cluster = await ResumeWorkflowTests.StartCluster(_runs);
        var store = new LocalArtifactStore(_runs);

        var upstream = cluster.Client.GetGrain<IExperimentGrain>("upstream-1");
        await upstream.Submit(new ExperimentSubmission(TinyExperiments.TokenizerSpec("upstream", steps: 6, checkpointEvery: 4), "upstream.yaml",
            DateTimeOffset.UtcNow));
        var trained = await ExperimentFlowTests.WaitUntilFinished(upstream, TimeSpan.FromMinutes(3));
        Assert.True(trained.State == ExperimentState.Succeeded, $"{trained.State}: {trained.Error}");
        string final = ExperimentPaths.Checkpoint("upstream-1", "tokenizer");
        var recorded = await store.GetAsync(final);
        // The copy: the newest resume slot, recorded at the last step with the final checkpoint's hash.
        string? copy = StageResume.SlotHolding(store, new StageArtifacts("upstream-1", "tokenizer"), recorded.Sha256, CancellationToken.None);
        Assert.NotNull(copy);

        FlipBit(final);
        await Assert.ThrowsAsync<ArtifactCorruptException>(async () =>
        {
            await using var stream = await store.OpenReadAsync(final);
            await stream.CopyToAsync(Stream.Null);
        });
        var downstream = cluster.Client.GetGrain<IExperimentGrain>("downstream-1");
        await downstream.Submit(new ExperimentSubmission(TokenizeSpec("upstream-1"), "downstream.yaml", DateTimeOffset.UtcNow));
        var tokenized = await ExperimentFlowTests.WaitUntilFinished(downstream, TimeSpan.FromMinutes(3));
        Assert.True(tokenized.State == ExperimentState.Succeeded, $"{tokenized.State}: {tokenized.Error}");
        // It read the tokenizer (it always does, before looking for cached tokens): the copy, as the final one is corrupt.
        Assert.Equal(0, tokenized.Completed.Single().Metrics["reused_cached_tokens"]);

        // Spoil the copy as well: now the corruption is the stage's error.
        FlipBit(copy!);
        var again = cluster.Client.GetGrain<IExperimentGrain>("downstream-2");
        await again.Submit(new ExperimentSubmission(TokenizeSpec("upstream-1"), "downstream.yaml", DateTimeOffset.UtcNow));
        var failed = await ExperimentFlowTests.WaitUntilFinished(again, TimeSpan.FromMinutes(3));
        Assert.Equal(ExperimentState.Failed, failed.State);
        Assert.Contains($"{final}: corrupt artifact", failed.Error);
    }

    void FlipBit(string key)
    {
        string file = Path.Combine([_runs, .. key.Split('/')]);
        byte[] bytes = File.ReadAllBytes(file);
        bytes[bytes.Length / 2] ^= 0x10;
        File.WriteAllBytes(file, bytes);
    }

    public ValueTask DisposeAsync()
    {
        if (Directory.Exists(_runs)) Directory.Delete(_runs, recursive: true);
        return ValueTask.CompletedTask;
    }
}
