namespace Tessera.Grains;

/// <summary>
/// Imports a builtin dataset into the artifact store (key: the dataset's name), once for the whole cluster: when the
/// stages of many experiments start at once on a fresh cluster, every silo importing it on its own would write the same
/// blobs at the same time, and two uploads of one blob fail each other.
/// </summary>
public interface IDatasetImportGrain : IGrainWithStringKey
{
    /// <summary>Imports the dataset into <paramref name="trainShards"/> training shards unless the store already has it.</summary>
    Task EnsureBuiltin(int trainShards);
}
