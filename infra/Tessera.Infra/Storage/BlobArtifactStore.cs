using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace Tessera.Infra.Storage;

/// <summary>
/// Artifacts as block blobs in one Azure Blob Storage container (cluster mode; Azurite on loopback for tests and
/// local clusters). The key is the blob name; the SHA-256 is the blob's metadata entry <c>sha256</c>.
///
/// A write stages the content as uncommitted blocks (each with a transactional MD5 the service checks on
/// arrival) while hashing it, then commits the block list together with the SHA-256 metadata in one call.
/// The commit is the atomic step: until it, readers see the old blob (or none); after it, the new content and
/// its checksum at once, so unlike the local store no sidecar has to be kept in step with the data. A write that
/// fails or is cancelled before the commit leaves only uncommitted blocks, which the service discards, and the
/// old blob untouched. Uploading to a temporary blob and copying it over would also be atomic, but a copy is
/// asynchronous on the service side, costs a second pass over the data and leaves temp blobs to clean up.
///
/// Concurrent writers to one key: the last commit wins; an earlier writer whose blocks were discarded by a later
/// commit fails with the service's "invalid block list" error and changes nothing.
/// </summary>
public sealed class BlobArtifactStore : IArtifactStore
{
    /// <summary>Metadata key of the content's SHA-256 (lowercase hex).</summary>
    public const string Sha256Metadata = "sha256";

    /// <summary>Default container name of a Tessera cluster.</summary>
    public const string DefaultContainer = "tessera";

    private readonly BlobContainerClient _container;
    private readonly int _blockSize;
    private volatile bool _containerExists;

    /// <param name="container">The container; created on first use when missing.</param>
    /// <param name="blockSize">Bytes per staged block (4 MiB by default; tests use small blocks to get many).</param>
    public BlobArtifactStore(BlobContainerClient container, int blockSize = 4 << 20)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        _container = container;
        _blockSize = blockSize;
        // The URI without its query, which for a SAS connection string would carry the signature.
        Location = new UriBuilder(container.Uri) { Query = "" }.Uri.ToString();
    }

    /// <summary>Connects to <paramref name="containerName"/> with an Azure Storage connection string.</summary>
    public static BlobArtifactStore Connect(string connectionString, string containerName = DefaultContainer)
    {
        BlobServiceClient service;
        try { service = new BlobServiceClient(connectionString); }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            // The SDK's message may quote the string, and with it the account key: name the problem only.
            throw new ArgumentException($"the blob storage connection string is not valid ({e.GetType().Name}); expected " +
                "'DefaultEndpointsProtocol=...;AccountName=...;AccountKey=...;BlobEndpoint=...'", nameof(connectionString));
        }
        return new BlobArtifactStore(service.GetBlobContainerClient(containerName));
    }

    public string Location { get; }

    public async Task<ArtifactRef> WriteAsync(string path, Stream content, CancellationToken cancellationToken = default)
    {
        ArtifactPath.Validate(path);
        ArgumentNullException.ThrowIfNull(content);
        await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        var blob = _container.GetBlockBlobClient(path);
        // Block ids are unique to this write, so two writers of one key never commit each other's blocks.
        var writeId = Guid.NewGuid().ToString("N");
        var blocks = new List<string>();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[_blockSize];
        long length = 0;
        var validation = new BlockBlobStageBlockOptions
        {
            TransferValidation = new UploadTransferValidationOptions { ChecksumAlgorithm = StorageChecksumAlgorithm.MD5 },
        };
        int filled;
        while ((filled = await FillAsync(content, buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            hash.AppendData(buffer, 0, filled);
            var blockId = Convert.ToBase64String(Encoding.ASCII.GetBytes($"{writeId}-{blocks.Count:D6}"));
            using var block = new MemoryStream(buffer, 0, filled, writable: false);
            await blob.StageBlockAsync(blockId, block, validation, cancellationToken).ConfigureAwait(false);
            blocks.Add(blockId);
            length += filled;
        }
        var sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
        // Commit point: content and checksum become visible together.
        await blob.CommitBlockListAsync(blocks, new CommitBlockListOptions
        {
            Metadata = new Dictionary<string, string> { [Sha256Metadata] = sha256 },
        }, cancellationToken).ConfigureAwait(false);
        return new ArtifactRef(path, sha256, length);
    }

    /// <summary>
    /// Streams one committed version, verified against the SHA-256 recorded with it as it is read
    /// (<see cref="VerifiedReadStream"/>). The hash comes from the properties of one ETag and the bytes from a GET
    /// conditional on that ETag: a download's own headers are not always the same version as its body (Azurite), and a
    /// write committing in between makes the GET fail with 412, so it is simply tried again.
    /// </summary>
    public async Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArtifactPath.Validate(path);
        var blob = _container.GetBlobClient(path);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                BlobProperties properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
                var response = await blob.DownloadStreamingAsync(new BlobDownloadOptions
                {
                    Conditions = new BlobRequestConditions { IfMatch = properties.ETag },
                }, cancellationToken).ConfigureAwait(false);
                if (!properties.Metadata.TryGetValue(Sha256Metadata, out var sha256) || !ChecksumSidecar.IsSha256Hex(sha256))
                    return response.Value.Content; // not written by this store: nothing to verify against
                return new VerifiedReadStream(response.Value.Content, path, Location, [new ChecksumSidecar.Entry(sha256, properties.ContentLength)]);
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                throw new ArtifactNotFoundException(path, Location);
            }
            catch (RequestFailedException e) when (e.Status == 412 && attempt < 20)
            {
                // A write committed between the two requests: read the new version.
            }
        }
    }

    public async Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default)
    {
        ArtifactPath.Validate(path);
        return (await _container.GetBlobClient(path).ExistsAsync(cancellationToken).ConfigureAwait(false)).Value;
    }

    public async Task<ArtifactRef> GetAsync(string path, CancellationToken cancellationToken = default)
    {
        ArtifactPath.Validate(path);
        BlobProperties properties;
        try
        {
            properties = (await _container.GetBlobClient(path).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new ArtifactNotFoundException(path, Location);
        }
        if (!properties.Metadata.TryGetValue(Sha256Metadata, out var sha256) || !ChecksumSidecar.IsSha256Hex(sha256))
            throw new InvalidDataException($"{Location}/{path}: the blob has no valid '{Sha256Metadata}' metadata (not written by Tessera?)");
        return new ArtifactRef(path, sha256, properties.ContentLength);
    }

    public async Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken = default)
    {
        ArtifactPath.ValidatePrefix(prefix);
        var keys = new List<string>();
        try
        {
            await foreach (var item in _container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, cancellationToken).ConfigureAwait(false))
            {
                // Blobs put there by other tools under names the store could not have written are not artifacts.
                if (ArtifactPath.Problem(item.Name) is null)
                    keys.Add(item.Name);
            }
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return [];
        }
        keys.Sort(StringComparer.Ordinal);
        return keys;
    }

    /// <summary>Creates the container on the first write; racing writers both asking is harmless, and a failure is retried next time.</summary>
    private async Task EnsureContainerAsync(CancellationToken ct)
    {
        if (_containerExists) return;
        await _container.CreateIfNotExistsAsync(cancellationToken: ct).ConfigureAwait(false);
        _containerExists = true;
    }

    /// <summary>Reads until the buffer is full or the stream ends; returns the bytes read.</summary>
    private static async Task<int> FillAsync(Stream source, byte[] buffer, CancellationToken ct)
    {
        var filled = 0;
        int read;
        while (filled < buffer.Length && (read = await source.ReadAsync(buffer.AsMemory(filled), ct).ConfigureAwait(false)) > 0)
            filled += read;
        return filled;
    }
}
