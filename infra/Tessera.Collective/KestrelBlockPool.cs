using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace Tessera.Collective;

/// <summary>
/// Gives Kestrel memory blocks of <see cref="KestrelBlockPool.BlockBytes"/> instead of its default 4 KB ones.
/// Kestrel's HTTP/2 input moves data one block at a time: one socket receive per block, then one copy and one
/// thread-pool hop per block into the connection's frame reader. At 4 KB that was ~16,000 hops per rank and
/// 64 MB all-reduce, the largest single cost in the profile (see docs/collective.md); large blocks cut it to a
/// few hundred. Registered as the host's <see cref="IMemoryPoolFactory{T}"/>, so it applies to every Kestrel
/// listener of the host (the silo's HTTP API too, which only sees fewer, larger buffers).
/// </summary>
internal sealed class KestrelBlockPoolFactory : IMemoryPoolFactory<byte>
{
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new KestrelBlockPool();
}

internal sealed class KestrelBlockPool : MemoryPool<byte>
{
    public const int BlockBytes = 256 * 1024;

    /// <summary>
    /// Free blocks kept for reuse. Blocks live on the pinned object heap (sockets use them without pinning per call),
    /// which is only collected with gen 2, so they are kept rather than dropped; how many are ever out at once is
    /// bounded by the HTTP/2 windows and Kestrel's pipe limits, a few tens of MB at the collective's settings.
    /// </summary>
    private readonly ConcurrentQueue<Block> _free = new();
    private int _disposed;

    public override int MaxBufferSize => BlockBytes;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockBytes);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _free.TryDequeue(out var block) ? block : new Block(this);
    }

    protected override void Dispose(bool disposing)
    {
        Volatile.Write(ref _disposed, 1);
        _free.Clear();
    }

    private sealed class Block(KestrelBlockPool pool) : IMemoryOwner<byte>
    {
        public Memory<byte> Memory { get; } = GC.AllocateUninitializedArray<byte>(BlockBytes, pinned: true);

        public void Dispose()
        {
            if (Volatile.Read(ref pool._disposed) == 0) pool._free.Enqueue(this);
        }
    }
}
