using System.Buffers;
using System.Diagnostics;
using Google.Protobuf;
using Tessera.Infra.Telemetry;

namespace Tessera.Collective;

public sealed partial class RingCommunicator
{
    private delegate void ChunkReceiver(int index, ReadOnlySpan<byte> data, Span<float> destination);

    /// <summary>
    /// In-place ring all-reduce of <paramref name="buffer"/> over all ranks: reduce-scatter then all-gather,
    /// each segment cut into chunks that are pipelined (chunk k+1 travels while chunk k is reduced).
    /// Every rank must call it with a buffer of the same length, in the same order as its other operations.
    /// Afterwards all ranks hold identical values (also with compression: the owner of each reduced segment
    /// rounds it to the wire precision before passing it on).
    /// </summary>
    public async Task AllReduceAsync(Memory<float> buffer, ReduceOp op = ReduceOp.Sum, CancellationToken cancellationToken = default)
    {
        await EnterAsync(cancellationToken);
        try
        {
            ulong id = ++_op;
            int n = Group.WorldSize, rank = Group.Rank;
            long length = buffer.Length;
            if (n == 1 || length == 0) return;
            long started = Stopwatch.GetTimestamp();
            int chunk = Options.ChunkElements;
            int maxSegment = (int)((length + n - 1) / n);
            int chunks = (maxSegment + chunk - 1) / chunk;
            var compression = Options.Compression;

            // Segment i is [i*L/n, (i+1)*L/n): balanced, possibly empty when L < n (then its frames are empty).
            Memory<float> Chunk(int segment, int k)
            {
                long start = segment * length / n, end = (segment + 1) * length / n;
                long from = Math.Min(start + (long)k * chunk, end);
                return buffer.Slice((int)from, (int)Math.Min(chunk, end - from));
            }
            int Mod(int i) => ((i % n) + n) % n;
            // Step s < n-1 is reduce-scatter, the rest all-gather; rank r owns segment r+1 after reduce-scatter.
            int SendSegment(int step) => step < n - 1 ? Mod(rank - step) : Mod(rank + 1 - (step - (n - 1)));
            int ReceiveSegment(int step) => step < n - 1 ? Mod(rank - step - 1) : Mod(rank - (step - (n - 1)));

            // A frame can only be forwarded once it has arrived (lag <= chunks); the send-ahead bound also keeps each rank
            // within a few frames of its left neighbour, so little data waits in buffers between them.
            int lag = Math.Min(chunks, Options.SendAheadFramesOrOne);
            await RunPipelineAsync(id, 2 * (n - 1) * chunks, lag, sends: true, receives: true, compression,
                t => Chunk(SendSegment(t / chunks), t % chunks),
                t => Chunk(ReceiveSegment(t / chunks), t % chunks),
                (t, data, destination) =>
                {
                    int step = t / chunks;
                    if (step >= n - 1) { WireCodec.CopyTo(data, destination, compression); return; }
                    WireCodec.Accumulate(data, destination, compression);
                    if (step < n - 2) return;
                    if (op == ReduceOp.Average) WireCodec.Scale(destination, 1f / n);
                    WireCodec.Quantize(destination, compression);
                },
                cancellationToken);
            TesseraMetrics.RecordAllReduce(Group.ExperimentId, length * sizeof(float), Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
        finally { _opLock.Release(); }
    }

    /// <summary>
    /// Copies <paramref name="root"/>'s buffer into every rank's (weights at start or after a restart), pipelined
    /// along the ring. Always fp32 on the wire: weights must arrive exactly.
    /// </summary>
    public async Task BroadcastAsync(Memory<float> buffer, int root = 0, CancellationToken cancellationToken = default)
    {
        if (root < 0 || root >= Group.WorldSize) throw new ArgumentOutOfRangeException(nameof(root));
        await EnterAsync(cancellationToken);
        try
        {
            ulong id = ++_op;
            if (Group.WorldSize == 1 || buffer.Length == 0) return;
            int chunk = Options.ChunkElements;
            int chunks = (buffer.Length + chunk - 1) / chunk;
            Memory<float> Chunk(int k) => buffer.Slice(k * chunk, Math.Min(chunk, buffer.Length - k * chunk));
            bool isRoot = Group.Rank == root;
            await RunPipelineAsync(id, chunks, lag: isRoot ? int.MaxValue : 0, sends: Group.Right != root, receives: !isRoot,
                WireCompression.None, Chunk, Chunk, (_, data, destination) => WireCodec.CopyTo(data, destination, WireCompression.None),
                cancellationToken);
        }
        finally { _opLock.Release(); }
    }

    private async Task EnterAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        await _opLock.WaitAsync(cancellationToken);
        if (_broken is { } broken)
        {
            _opLock.Release();
            throw Fail(broken.MissingRank, $"the ring is broken: {broken.Message}", broken);
        }
    }

    /// <summary>
    /// Sends and receives <paramref name="frames"/> frames concurrently. The sender may send frame t only once the
    /// receiver has processed frame t - lag (the data it forwards), which is what pipelines the ring.
    /// </summary>
    private async Task RunPipelineAsync(ulong op, int frames, int lag, bool sends, bool receives, WireCompression compression,
        Func<int, Memory<float>> sendSlice, Func<int, Memory<float>> receiveSlice, ChunkReceiver onReceive, CancellationToken cancellationToken)
    {
        using var progress = new SemaphoreSlim(0);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lifetime.Token);
        var sender = sends ? Task.Run(() => SendLoopAsync(op, frames, lag, compression, sendSlice, progress, stop.Token)) : Task.CompletedTask;
        var receiver = receives ? Task.Run(() => ReceiveLoopAsync(op, frames, sends, compression, receiveSlice, onReceive, progress, stop.Token)) : Task.CompletedTask;
        var first = await Task.WhenAny(sender, receiver);
        try { await first; await Task.WhenAll(sender, receiver); }
        catch (Exception e)
        {
            stop.Cancel();
            try { await Task.WhenAll(sender, receiver); } catch { /* the first failure is the one worth reporting */ }
            var failure = e as CollectiveException ?? Fail(null, e is OperationCanceledException ? "operation cancelled" : "operation failed", e);
            await BreakAsync(failure);
            if (e is CollectiveException) throw;
            throw failure;
        }
    }

    private async Task SendLoopAsync(ulong op, int frames, int lag, WireCompression compression, Func<int, Memory<float>> slice,
        SemaphoreSlim progress, CancellationToken cancellationToken)
    {
        int bytesPerElement = WireCodec.BytesPerElement(compression);
        for (int t = 0; t < frames; t++)
        {
            if (t >= lag) await progress.WaitAsync(cancellationToken);
            var chunk = slice(t);
            if (compression == WireCompression.None)
            {
                // No copy: protobuf serializes straight from the caller's float memory.
                await SendAsync(op, t, UnsafeByteOperations.UnsafeWrap(new FloatBytesMemory(chunk).Memory));
                continue;
            }
            int bytes = chunk.Length * bytesPerElement;
            var rented = ArrayPool<byte>.Shared.Rent(Math.Max(1, bytes));
            WireCodec.Encode(chunk.Span, rented, compression);
            await SendAsync(op, t, UnsafeByteOperations.UnsafeWrap(rented.AsMemory(0, bytes)));
            // Only returned once serialized; on failure it is left to the GC rather than risk reuse mid-write.
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private async Task ReceiveLoopAsync(ulong op, int frames, bool signal, WireCompression compression, Func<int, Memory<float>> slice,
        ChunkReceiver onReceive, SemaphoreSlim progress, CancellationToken cancellationToken)
    {
        int bytesPerElement = WireCodec.BytesPerElement(compression);
        for (int t = 0; t < frames; t++)
        {
            var frame = await ReceiveAsync(op, t, cancellationToken);
            var destination = slice(t);
            if (frame.Payload.Length != destination.Length * bytesPerElement)
                throw Fail(Group.Left, $"rank {Group.Left} sent {frame.Payload.Length} bytes for a chunk of {destination.Length} values (same buffer length on all ranks?)");
            onReceive(t, frame.Payload, destination.Span);
            frame.ReturnPayload();
            if (signal) progress.Release();
        }
    }
}
