namespace Tessera.Tests.Infra;

/// <summary>A fresh directory under the system temp path, deleted on dispose, so tests never depend on the cwd.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "tessera-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>Every file below the directory, relative and '/'-separated, including hidden and temp files.</summary>
    public IReadOnlyList<string> AllFiles() =>
        Directory.EnumerateFiles(Path, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Select(f => System.IO.Path.GetRelativePath(Path, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)
            .ToList();

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Already gone; nothing to clean up.
        }
    }
}

/// <summary>A source stream that delivers <c>failAfter</c> bytes and then throws, like a producer crashing mid-write.</summary>
public sealed class CrashingStream(byte[] content, int failAfter) : SourceStream
{
    private int _position;

    public override int Read(byte[] buffer, int offset, int count)
    {
        if (_position >= failAfter)
            throw new IOException("simulated crash while producing the artifact");
        var n = Math.Min(count, Math.Min(failAfter, content.Length) - _position);
        Array.Copy(content, _position, buffer, offset, n);
        _position += n;
        return n;
    }

}

/// <summary>
/// Delivers the first <c>gateAt</c> bytes, then waits for <see cref="Release"/> before the rest: a producer paused
/// mid-write, so a test can look at the store while a write is in flight.
/// </summary>
public sealed class GatedStream(byte[] content, int gateAt) : SourceStream
{
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _position;

    /// <summary>Completes when the reader has taken the first part and asks for more.</summary>
    public Task Reached => _reached.Task;

    public void Release() => _release.TrySetResult();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position == gateAt)
        {
            _reached.TrySetResult();
            await _release.Task.WaitAsync(cancellationToken);
        }
        var end = _position < gateAt ? gateAt : content.Length;
        var n = Math.Min(buffer.Length, end - _position);
        content.AsMemory(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
}

/// <summary>A read-only, forward-only stream: what a producer of an artifact looks like to a store.</summary>
public abstract class SourceStream : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
