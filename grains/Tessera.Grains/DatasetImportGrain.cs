using Tessera.Infra.Data;
using Tessera.Infra.Storage;

namespace Tessera.Grains;

/// <summary>One builtin dataset's import, one call at a time (see <see cref="IDatasetImportGrain"/>); callers after the first find it done.</summary>
public sealed class DatasetImportGrain(IArtifactStore store) : Grain, IDatasetImportGrain
{
    public async Task EnsureBuiltin(int trainShards)
    {
        string name = this.GetPrimaryKeyString();
        // Decompressing and sharding is CPU work that must not run on the grain scheduler.
        try { await Task.Run(() => DatasetStore.EnsureBuiltinAsync(store, name, trainShards)); }
        catch (Exception e) when (e is IOException || e.GetType().Namespace?.StartsWith("Tessera") == true)
        {
            // The infra's own exception types do not cross to other silos; their message (file and problem) does.
            throw new InvalidDataException(e.Message);
        }
    }
}
