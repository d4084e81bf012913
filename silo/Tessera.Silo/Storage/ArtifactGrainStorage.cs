using Orleans.Serialization;
using Orleans.Storage;
using Tessera.Infra.Storage;

namespace Tessera.Silo.Storage;

/// <summary>
/// Grain state kept in the artifact store, one small file per grain under <c>_grains/&lt;state&gt;/</c>: what a silo
/// without a database uses (embedded `tessera run`, a standalone `tessera silo`), so an experiment's workflow state
/// outlives the process and `tessera resume` can pick it up. Writes go through the store, so they are atomic and
/// checksummed. The ETag is a write counter; with one silo per store there is no other writer to race.
/// </summary>
public sealed class ArtifactGrainStorage(IArtifactStore store, Serializer serializer) : IGrainStorage
{
    public const string Folder = "_grains";

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        string path = PathOf(stateName, grainId);
        if (!await store.ExistsAsync(path))
        {
            grainState.RecordExists = false;
            return;
        }
        using var stream = await store.OpenReadAsync(path);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        try
        {
            var stored = serializer.Deserialize<StoredState<T>>(buffer.ToArray())
                ?? throw new InvalidDataException("it holds no state");
            grainState.State = stored.State;
            grainState.ETag = stored.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
        }
        catch (Exception e)
        {
            throw new InvalidDataException($"grain state {path} in {store.Location} is unreadable: {e.Message}", e);
        }
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        long version = long.TryParse(grainState.ETag, out long v) ? v + 1 : 1;
        byte[] bytes = serializer.SerializeToArray(new StoredState<T>(grainState.State!, version));
        await store.WriteAsync(PathOf(stateName, grainId), new MemoryStream(bytes, writable: false));
        grainState.ETag = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    /// <summary>Clearing writes the type's empty state (the store keeps no deletes): a later read sees a fresh grain.</summary>
    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        grainState.State = Activator.CreateInstance<T>();
        await WriteStateAsync(stateName, grainId, grainState);
        grainState.RecordExists = false;
    }

    /// <summary>"_grains/experiment/experiment%2Fquickstart-…": the grain id escaped into one path segment.</summary>
    static string PathOf(string stateName, GrainId grainId) =>
        $"{Folder}/{Uri.EscapeDataString(stateName)}/{Uri.EscapeDataString(grainId.ToString())}.state";
}

/// <summary>A grain's state with the version its ETag reports.</summary>
[GenerateSerializer]
public sealed record StoredState<T>([property: Id(0)] T State, [property: Id(1)] long Version);
