namespace Tessera.Infra.Storage;

/// <summary>
/// Where every artifact (dataset shards, checkpoints, images, reports) lives. Paths are relative,
/// '/'-separated keys such as "datasets/mnist/train-00000.shard" or "quickstart-1a2b/summary.json".
/// Writes are atomic: a reader sees the whole previous artifact or the whole new one, never a part.
/// </summary>
public interface IArtifactStore
{
    /// <summary>Human-readable location of the store (a directory, a container URL) for messages.</summary>
    string Location { get; }

    /// <summary>Writes the whole stream under <paramref name="path"/> atomically and returns its SHA-256.</summary>
    Task<ArtifactRef> WriteAsync(string path, Stream content, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens an artifact for reading; throws <see cref="ArtifactNotFoundException"/> if absent. The stream checks the
    /// bytes against the SHA-256 recorded at write time as they are read, and throws <see cref="ArtifactCorruptException"/>
    /// at the end if they differ.
    /// </summary>
    Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default);

    Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>The recorded reference (SHA-256, length) of an existing artifact.</summary>
    Task<ArtifactRef> GetAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>Paths of all artifacts whose path starts with <paramref name="prefix"/>, in ordinal order.</summary>
    Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken = default);
}

/// <summary>An artifact as referenced from elsewhere: its path, content hash and size.</summary>
public sealed record ArtifactRef(string Path, string Sha256, long Length);

public sealed class ArtifactNotFoundException(string path, string location)
    : FileNotFoundException($"artifact '{path}' does not exist in {location}", path);
