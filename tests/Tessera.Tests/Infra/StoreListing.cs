using Tessera.Infra.Storage;

namespace Tessera.Tests.Infra;

/// <summary>What every artifact store's listing must do, checked the same way for each implementation.</summary>
public static class StoreListing
{
    /// <summary>
    /// Writes five artifacts, runs <paramref name="afterWrites"/> (e.g. to leave store bookkeeping files about), then
    /// checks that a listing filters by prefix (mid-segment too), sorts ordinally and reports only artifacts.
    /// </summary>
    public static async Task CheckPrefixesAsync(IArtifactStore store, Action? afterWrites = null)
    {
        foreach (var path in new[] { "datasets/mnist/train-00001.shard", "datasets/mnist/manifest.json", "datasets/mnist/B", "datasets/mnistx/a", "runs/r1" })
            await store.WriteAsync(path, new MemoryStream([7]));
        afterWrites?.Invoke();

        Assert.Equal(["datasets/mnist/B", "datasets/mnist/manifest.json", "datasets/mnist/train-00001.shard"],
            await store.ListAsync("datasets/mnist/"));
        Assert.Equal(["datasets/mnist/B", "datasets/mnist/manifest.json", "datasets/mnist/train-00001.shard", "datasets/mnistx/a"],
            await store.ListAsync("datasets/mnist"));
        Assert.Equal(5, (await store.ListAsync("")).Count);
        Assert.Empty(await store.ListAsync("nothing/"));
        await Assert.ThrowsAsync<ArgumentException>(() => store.ListAsync("../"));
    }
}
