using System.Security.Cryptography;
using System.Text;

namespace Tessera.Infra.Storage;

/// <summary>
/// Artifacts as plain files under a root directory (the embedded default, "./runs/"). Each data file
/// "&lt;key&gt;" has a checksum sidecar "&lt;key&gt;.sha256" (see <see cref="ChecksumSidecar"/>).
///
/// A write goes: stream into ".tmp-…" next to the target while hashing → fsync → re-read and verify →
/// widen the sidecar to list the new version (and the one still in place) → rename the temp file over the
/// target → fsync the directory → narrow the sidecar to the new version. The data rename is the commit
/// point: before it every reader sees the old artifact (or none), after it the new one, and at every instant
/// the sidecar contains the entry of whichever data file is in place. A crash before the rename leaves at
/// most a temp file (removed on the failure path, ignored by listings) and a widened sidecar that is still
/// correct for the old data.
///
/// Concurrent writers to one key are serialised within a process; across processes they are not supported.
/// </summary>
public sealed class LocalArtifactStore : IArtifactStore
{
    // Striped rather than per-key so the lock table cannot grow without bound.
    private static readonly SemaphoreSlim[] WriteLocks =
        Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1)).ToArray();

    private const int BufferSize = 1 << 16;
    private readonly string _root;

    public LocalArtifactStore(string rootDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(rootDirectory);
        _root = Path.GetFullPath(rootDirectory);
        if (File.Exists(_root))
            throw new IOException($"{_root}: artifact store root is a file, not a directory");
    }

    public string Location => _root;

    public async Task<ArtifactRef> WriteAsync(string path, Stream content, CancellationToken cancellationToken = default)
    {
        ArtifactPath.Validate(path);
        ArgumentNullException.ThrowIfNull(content);
        var target = FullPath(path);
        var directory = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(directory);
        var tempData = Path.Combine(directory, $"{ArtifactPath.TempPrefix}{Guid.NewGuid():N}-{Path.GetFileName(target)}");
        try
        {
            var written = await CopyHashedAsync(content, tempData, cancellationToken).ConfigureAwait(false);
            var reread = await ChecksumSidecar.HashFileAsync(tempData, cancellationToken).ConfigureAwait(false);
            if (reread != written.Sha256)
                throw new IOException($"{_root}/{path}: verification failed, wrote {written.Sha256} but read back {reread}");

            var gate = WriteLocks[(StringComparer.Ordinal.GetHashCode(target) & int.MaxValue) % WriteLocks.Length];
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var current = await EntryInPlaceAsync(path, target, cancellationToken).ConfigureAwait(false);
                var widened = current is { } old && old != written ? new[] { written, old } : new[] { written };
                await ReplaceSidecarAsync(target, widened, cancellationToken).ConfigureAwait(false);

                // Commit point. No cancellation from here on: the remaining steps are quick and must not be
                // abandoned halfway.
                File.Move(tempData, target, overwrite: true);
                DirectorySync.Flush(directory);
                if (widened.Length > 1)
                    await NarrowSidecarAsync(target, written).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
            return new ArtifactRef(path, written.Sha256, written.Length);
        }
        finally
        {
            // Only reached with the temp file still present when something failed before the commit.
            TryDelete(tempData);
        }
    }

    /// <summary>
    /// Opens the artifact as a <see cref="VerifiedReadStream"/>: whoever reads it to the end has had its SHA-256 checked
    /// against the sidecar, or gets <see cref="ArtifactCorruptException"/>. A length that no sidecar entry records fails
    /// at once. A file without a sidecar was not written by the store (a log that grows) and is read unverified.
    /// </summary>
    public async Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArtifactPath.Validate(path);
        var target = FullPath(path);
        var sidecar = target + ArtifactPath.SidecarSuffix;
        for (var attempt = 0; ; attempt++)
        {
            FileStream data;
            try
            {
                // FileShare.Delete lets a writer rename a new version over this one; this handle keeps the old.
                data = new FileStream(target, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, BufferSize, useAsync: true);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                throw new ArtifactNotFoundException(path, _root);
            }
            // Read after opening: the sidecar lists the version in place, and while an overwrite is in flight the one
            // before it too, so the version this handle holds is listed unless a whole write committed in between.
            var text = ReadTextOrNull(sidecar);
            if (text is null)
                return data;
            var entries = ChecksumSidecar.Parse(sidecar, text);
            var matching = entries.Where(e => e.Length == data.Length).ToList();
            if (matching.Count > 0)
                return new VerifiedReadStream(data, path, _root, matching);
            long length = data.Length;
            await data.DisposeAsync().ConfigureAwait(false);
            if (ReadTextOrNull(sidecar) == text || attempt == 20)
            {
                var actual = await ChecksumSidecar.HashFileAsync(target, cancellationToken).ConfigureAwait(false);
                throw new ArtifactCorruptException(path, _root, entries[0].Sha256, entries[0].Length, actual, length);
            }
            await Task.Delay(10, cancellationToken).ConfigureAwait(false); // a writer replaced it meanwhile: look again
        }
    }

    public Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default)
    {
        ArtifactPath.Validate(path);
        return Task.FromResult(File.Exists(FullPath(path)));
    }

    public async Task<ArtifactRef> GetAsync(string path, CancellationToken cancellationToken = default)
    {
        ArtifactPath.Validate(path);
        var target = FullPath(path);
        if (!File.Exists(target))
            throw new ArtifactNotFoundException(path, _root);
        var entry = await CurrentEntryAsync(path, target, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException($"{_root}/{path}: checksum sidecar {ArtifactPath.SidecarSuffix} is missing");
        return new ArtifactRef(path, entry.Sha256, entry.Length);
    }

    public Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArtifactPath.ValidatePrefix(prefix);
        // Start from the deepest directory the prefix names instead of walking the whole store.
        var slash = prefix.LastIndexOf('/');
        var start = slash < 0 ? _root : Path.Combine(_root, prefix[..slash]);
        if (!Directory.Exists(start))
            return Task.FromResult<IReadOnlyList<string>>([]);
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 };
        var keys = Directory.EnumerateFiles(start, "*", options)
            .Select(f => Path.GetRelativePath(_root, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(k => k.StartsWith(prefix, StringComparison.Ordinal)
                        && !k.Split('/').Any(ArtifactPath.IsBookkeeping)
                        && ArtifactPath.Problem(k) is null)
            .Order(StringComparer.Ordinal)
            .ToList();
        return Task.FromResult<IReadOnlyList<string>>(keys);
    }

    private string FullPath(string key) => Path.Combine(_root, key.Replace('/', Path.DirectorySeparatorChar));

    private static async Task<ChecksumSidecar.Entry> CopyHashedAsync(Stream source, string file, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long length = 0;
        await using (var output = new FileStream(file, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, useAsync: true))
        {
            var buffer = new byte[BufferSize];
            int read;
            while ((read = await source.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                await output.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                length += read;
            }
            output.Flush(flushToDisk: true);
        }
        return new ChecksumSidecar.Entry(Convert.ToHexStringLower(hash.GetHashAndReset()), length);
    }

    /// <summary>
    /// The sidecar entry for the data file in place. The sidecar is read before and after looking at the
    /// data; if a writer changed it in between, look again, so the answer always pairs matching versions.
    /// </summary>
    private async Task<ChecksumSidecar.Entry?> CurrentEntryAsync(string key, string target, CancellationToken ct)
    {
        var sidecar = target + ArtifactPath.SidecarSuffix;
        for (var attempt = 0; ; attempt++)
        {
            var before = ReadTextOrNull(sidecar);
            if (before is null)
                return null;
            ChecksumSidecar.Entry? entry;
            try
            {
                entry = await ChecksumSidecar.ResolveAsync(ChecksumSidecar.Parse(sidecar, before), target, ct).ConfigureAwait(false);
            }
            catch (FileNotFoundException)
            {
                throw new ArtifactNotFoundException(key, _root);
            }
            if (ReadTextOrNull(sidecar) == before)
                return entry ?? throw new InvalidDataException($"{_root}/{key}: checksum sidecar does not describe the data file");
            if (attempt == 20)
                throw new IOException($"{_root}/{key}: artifact kept changing while its checksum was read");
            await Task.Delay(10, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// What the data file now in place holds, for widening the sidecar. A damaged or missing sidecar must not
    /// block replacing the artifact, so in that case the data is hashed instead.
    /// </summary>
    private async Task<ChecksumSidecar.Entry?> EntryInPlaceAsync(string key, string target, CancellationToken ct)
    {
        if (!File.Exists(target))
            return null;
        try
        {
            if (await CurrentEntryAsync(key, target, ct).ConfigureAwait(false) is { } recorded)
                return recorded;
        }
        catch (InvalidDataException)
        {
            // Unreadable sidecar: fall through and describe the data by hashing it.
        }
        var sha = await ChecksumSidecar.HashFileAsync(target, ct).ConfigureAwait(false);
        return new ChecksumSidecar.Entry(sha, new FileInfo(target).Length);
    }

    private static async Task ReplaceSidecarAsync(string target, ChecksumSidecar.Entry[] entries, CancellationToken ct)
    {
        var directory = Path.GetDirectoryName(target)!;
        var temp = Path.Combine(directory, $"{ArtifactPath.TempPrefix}{Guid.NewGuid():N}-{Path.GetFileName(target)}{ArtifactPath.SidecarSuffix}");
        try
        {
            await using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                await output.WriteAsync(Encoding.ASCII.GetBytes(ChecksumSidecar.Format(entries)), ct).ConfigureAwait(false);
                output.Flush(flushToDisk: true);
            }
            File.Move(temp, target + ArtifactPath.SidecarSuffix, overwrite: true);
            DirectorySync.Flush(directory);
        }
        finally
        {
            TryDelete(temp);
        }
    }

    private static async Task NarrowSidecarAsync(string target, ChecksumSidecar.Entry written)
    {
        try
        {
            await ReplaceSidecarAsync(target, [written], CancellationToken.None).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The write has already committed and the widened sidecar still describes it correctly;
            // the extra entry is only tidied up by the next write of this key.
        }
    }

    private static string? ReadTextOrNull(string file)
    {
        try
        {
            return File.ReadAllText(file, Encoding.ASCII);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp file is invisible to readers and listings.
        }
    }
}
