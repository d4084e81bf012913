using System.Security.Cryptography;
using Tessera.Infra.Data;

namespace Tessera.Infra.Storage;

/// <summary>
/// A read-only, forward-only view of an artifact that hashes every byte as the caller reads it and, when the caller
/// reaches the end, throws <see cref="ArtifactCorruptException"/> unless the bytes are the ones the store recorded.
/// So a loader that reads its input once verifies it in the same pass, without a second read of the file. A caller
/// that stops before the end gets no verdict. Not seekable, so zip readers buffer it whole (and thereby verify it).
/// </summary>
internal sealed class VerifiedReadStream(Stream inner, string path, string location, IReadOnlyList<ChecksumSidecar.Entry> accepted)
    : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _read;
    private bool _verified;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _read; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = inner.Read(buffer);
        return Account(buffer[..n], asked: buffer.Length);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        return Account(buffer.Span[..n], asked: buffer.Length);
    }

    private int Account(ReadOnlySpan<byte> bytes, int asked)
    {
        if (bytes.Length > 0)
        {
            _hash.AppendData(bytes);
            _read += bytes.Length;
        }
        else if (asked > 0 && !_verified)
        {
            _verified = true;
            string actual = Convert.ToHexStringLower(_hash.GetHashAndReset());
            if (!accepted.Any(e => e.Sha256 == actual && e.Length == _read))
                throw new ArtifactCorruptException(path, location, accepted[0].Sha256, accepted[0].Length, actual, _read);
        }
        return bytes.Length;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            _hash.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        _hash.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// An artifact's bytes are not the ones its store recorded when it was written (a flipped bit, a truncation, an edit
/// outside the store). The message names the artifact and both hashes.
/// </summary>
public sealed class ArtifactCorruptException(string path, string location, string expectedSha256, long expectedLength,
    string actualSha256, long actualLength)
    : DataFormatException($"{location}/{path}", $"corrupt artifact: its SHA-256 is {actualSha256} ({actualLength} bytes) " +
        $"but the store recorded {expectedSha256} ({expectedLength} bytes) when it was written")
{
    /// <summary>The artifact's key in its store.</summary>
    public string Path { get; } = path;
    public string ExpectedSha256 { get; } = expectedSha256;
    public string ActualSha256 { get; } = actualSha256;
}
