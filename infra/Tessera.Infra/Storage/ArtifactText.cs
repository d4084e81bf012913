using System.Text;
using Tessera.Infra.Storage;

namespace Tessera.Infra.Storage;

/// <summary>Small text artifacts (YAML, JSON) through the same atomic store as everything else.</summary>
public static class ArtifactText
{
    public static Task<ArtifactRef> WriteTextAsync(this IArtifactStore store, string path, string text,
        CancellationToken cancellationToken = default) =>
        store.WriteAsync(path, new MemoryStream(Encoding.UTF8.GetBytes(text)), cancellationToken);

    public static async Task<string> ReadTextAsync(this IArtifactStore store, string path, CancellationToken cancellationToken = default)
    {
        using var reader = new StreamReader(await store.OpenReadAsync(path, cancellationToken), Encoding.UTF8);
        return await reader.ReadToEndAsync(cancellationToken);
    }

    public static Task<ArtifactRef> WriteBytesAsync(this IArtifactStore store, string path, byte[] bytes,
        CancellationToken cancellationToken = default) =>
        store.WriteAsync(path, new MemoryStream(bytes, writable: false), cancellationToken);
}
