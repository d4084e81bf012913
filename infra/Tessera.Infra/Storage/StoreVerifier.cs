using Tessera.Infra.Data;

namespace Tessera.Infra.Storage;

/// <summary>
/// Reads every artifact under a prefix through the store's verified read, so each one's bytes are checked against the
/// SHA-256 recorded when it was written (`tessera store verify`; the chaos script's last check). Local files the store
/// did not write (no sidecar entry, e.g. log.jsonl) are read as they are and count as verified: nothing records them.
/// </summary>
public static class StoreVerifier
{
    /// <summary>One artifact that did not verify, and why.</summary>
    public sealed record Problem(string Path, string Message);

    public sealed record Report(int Artifacts, long Bytes, IReadOnlyList<Problem> Corrupt)
    {
        public bool Ok => Corrupt.Count == 0;
    }

    public static async Task<Report> VerifyAsync(IArtifactStore store, string prefix = "", IProgress<string>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var paths = await store.ListAsync(prefix, cancellationToken);
        var corrupt = new List<Problem>();
        long bytes = 0;
        var buffer = new byte[1 << 16];
        foreach (string path in paths)
        {
            try
            {
                await using var stream = await store.OpenReadAsync(path, cancellationToken);
                int n;
                while ((n = await stream.ReadAsync(buffer, cancellationToken)) > 0) bytes += n;
                progress?.Report(path);
            }
            catch (DataFormatException e)
            {
                // ArtifactCorruptException and the store's other refusals of recorded-but-wrong bytes.
                corrupt.Add(new Problem(path, e.Message));
            }
            catch (ArtifactNotFoundException)
            {
                // Deleted between the listing and the read (a run still writing): not corruption.
            }
        }
        return new Report(paths.Count, bytes, corrupt);
    }
}
