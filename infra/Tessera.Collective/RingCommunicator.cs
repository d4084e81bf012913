using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Tessera.Collective.Wire;

namespace Tessera.Collective;

/// <summary>
/// One rank's membership in one ring generation: the stream this rank opened on its left neighbour's host (frames
/// in) and the stream its right neighbour opened on this host (frames out, written as responses). Operations run one
/// at a time, in the same order on all ranks. Any failure breaks the communicator for good and is passed round the
/// ring (an abort frame) so every rank fails promptly naming the same missing rank; the coordinator then forms a new
/// generation.
/// </summary>
public sealed partial class RingCommunicator : IAsyncDisposable
{
    internal const string ExperimentHeader = "tessera-experiment";
    internal const string GenerationHeader = "tessera-generation";
    internal const string FromHeader = "tessera-from";
    internal const string ToHeader = "tessera-to";
    internal const string SecretHeader = "tessera-secret";
    internal const string WaitHeader = "tessera-wait-ms";

    private readonly CollectiveHub _hub;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly SemaphoreSlim _opLock = new(1, 1);
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly TaskCompletionSource _rightAttached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Completed on dispose: the handler serving the right neighbour returns, which ends its stream cleanly.
    private readonly TaskCompletionSource _outboundClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Channel<Frame> _inbound;
    private GrpcChannel? _channel;
    private AsyncServerStreamingCall<Frame>? _inboundCall;
    private IServerStreamWriter<Frame>? _outbound;
    private CollectiveException? _broken;
    private ulong _op;
    private int _disposed;
    private int _rightClaimed;

    internal RingCommunicator(CollectiveHub hub, RingGroup group, CollectiveOptions options, ILogger logger)
    {
        _hub = hub;
        Group = group;
        Options = options;
        _logger = logger;
        _inbound = Channel.CreateBounded<Frame>(new BoundedChannelOptions(Math.Max(1, options.InboundQueueFrames))
        { SingleReader = true, SingleWriter = true });
    }

    public RingGroup Group { get; }
    public CollectiveOptions Options { get; }
    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Opens the stream from the left neighbour and waits for the right one's, both within the group timeout.</summary>
    internal async Task ConnectAsync(CancellationToken cancellationToken)
    {
        if (Group.WorldSize == 1) return;
        var deadline = Stopwatch.StartNew();
        try
        {
            using var giveUp = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var left = ConnectLeftAsync(deadline, giveUp.Token);
            var right = WaitForRightAsync(giveUp.Token);
            // Whichever side fails first is the one to report (a refusal is immediate, a missing rank takes the timeout).
            var first = await Task.WhenAny(left, right);
            try { await first; await Task.WhenAll(left, right); }
            catch
            {
                giveUp.Cancel();
                await Task.WhenAll(left, right).ContinueWith(_ => { }, TaskScheduler.Default);
                throw;
            }
        }
        catch (Exception e)
        {
            var failure = e as CollectiveException ?? Fail(null, $"joining the ring failed: {e.Message}", e);
            await BreakAsync(failure);
            throw failure;
        }
    }

    private async Task WaitForRightAsync(CancellationToken cancellationToken)
    {
        try { await _rightAttached.Task.WaitAsync(Group.Timeout, cancellationToken); }
        catch (TimeoutException) { throw Fail(Group.Right, $"rank {Group.Right} did not connect within {Group.Timeout.TotalSeconds:0.###} s"); }
    }

    private async Task ConnectLeftAsync(Stopwatch deadline, CancellationToken cancellationToken)
    {
        int left = Group.Left;
        var handler = new SocketsHttpHandler
        {
            // The receive window of the stream the data arrives on. SocketsHttpHandler accepts 64 KB..16 MB.
            InitialHttp2StreamWindowSize = Math.Clamp(Options.Http2WindowBytes, 65535, 16 * 1024 * 1024),
            ConnectTimeout = Group.Timeout,
            KeepAlivePingDelay = TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = Group.Timeout,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        };
        if (_hub.TlsCertificate is { } certificate)
        {
            if (Group.Peers[left].Scheme != Uri.UriSchemeHttps)
                throw Fail(left, $"rank {left} registered {Group.Peers[left]}, a cleartext endpoint, but this rank's data plane requires TLS");
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                TargetHost = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false),
                // The cluster's one certificate (every silo serves the same --tls-cert), or one this machine trusts.
                RemoteCertificateValidationCallback = (_, remote, _, errors) =>
                    errors == SslPolicyErrors.None || (remote is not null && remote.GetCertHashString() == certificate.GetCertHashString()),
            };
        }
        _channel = GrpcChannel.ForAddress(Group.Peers[left], new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxSendMessageSize = null,
            MaxReceiveMessageSize = null,
            LoggerFactory = _hub.LoggerFactory,
        });
        var invoker = _channel.CreateCallInvoker();
        while (true)
        {
            var remaining = Group.Timeout - deadline.Elapsed;
            if (remaining <= TimeSpan.Zero) throw Fail(left, $"rank {left} at {Group.Peers[left]} did not accept a stream within {Group.Timeout.TotalSeconds:0.###} s");
            var headers = new Metadata
            {
                { ExperimentHeader, Group.ExperimentId },
                { GenerationHeader, Group.Generation.ToString() },
                { FromHeader, Group.Rank.ToString() },
                { ToHeader, left.ToString() },
                { SecretHeader, Group.Secret },
                { WaitHeader, ((long)remaining.TotalMilliseconds).ToString() },
            };
            var call = invoker.AsyncServerStreamingCall(PooledWire.PullMethod, null, new CallOptions(headers, cancellationToken: _lifetime.Token),
                new Hello { Rank = Group.Rank });
            try
            {
                // The first frame (op 0) says the left rank accepted the stream; a refusal arrives as an RpcException.
                if (!await call.ResponseStream.MoveNext(cancellationToken).WaitAsync(remaining, cancellationToken))
                    throw Fail(left, $"rank {left} closed the stream without accepting it");
                _inboundCall = call;
                _ = PumpInboundAsync(call.ResponseStream);
                return;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.NotFound)
            {
                // Not up yet or not joined yet: the group is formed concurrently, so retry until the deadline.
                call.Dispose();
                await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
            }
            catch (RpcException e)
            {
                call.Dispose();
                throw Fail(e.StatusCode == StatusCode.PermissionDenied ? null : left, $"rank {left} refused the stream: {e.StatusCode} {e.Status.Detail}", e);
            }
            catch (TimeoutException)
            {
                call.Dispose();
                throw Fail(left, $"rank {left} at {Group.Peers[left]} did not accept a stream within {Group.Timeout.TotalSeconds:0.###} s");
            }
        }
    }

    /// <summary>
    /// Called by the service on this host for the stream the right neighbour opened: confirms it, then lends the
    /// response stream to the send loop until the communicator is disposed or the right neighbour goes away.
    /// </summary>
    internal async Task RunOutboundAsync(IServerStreamWriter<Frame> responses, ServerCallContext context)
    {
        if (Interlocked.Exchange(ref _rightClaimed, 1) != 0)
            throw new RpcException(new Status(StatusCode.AlreadyExists, $"rank {Group.Rank} already has a stream to rank {Group.Right}"));
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, _lifetime.Token);
        await responses.WriteAsync(new Frame { Op = 0 }, linked.Token);
        _outbound = responses;
        _rightAttached.TrySetResult();
        // Returning normally ends the stream cleanly (the right rank reads its end); a cancelled call ends it
        // abruptly, and the next write to it fails, naming the right rank.
        try { await _outboundClosed.Task.WaitAsync(linked.Token); }
        catch (OperationCanceledException) { }
    }

    /// <summary>Moves frames from the left neighbour's stream into the inbound queue for as long as the stream lasts.</summary>
    private async Task PumpInboundAsync(IAsyncStreamReader<Frame> frames)
    {
        Exception? error = null;
        try
        {
            while (await frames.MoveNext(_lifetime.Token))
                await _inbound.Writer.WriteAsync(frames.Current, _lifetime.Token);
        }
        catch (Exception e) when (!_lifetime.IsCancellationRequested) { error = e; }
        catch (Exception) { return; }
        // The left neighbour went away; whoever reads next learns which rank it was.
        _inbound.Writer.TryComplete(Fail(Group.Left, error is null ? $"rank {Group.Left} closed its stream" : $"the stream from rank {Group.Left} broke", error));
    }

    /// <summary>Next frame from the left neighbour, checked for order; an abort frame fails this rank too.</summary>
    private async ValueTask<Frame> ReceiveAsync(ulong op, int index, CancellationToken cancellationToken)
    {
        if (!_inbound.Reader.TryRead(out var frame)) frame = await ReceiveSlowAsync(cancellationToken);
        if (frame.Abort)
            throw Fail(frame.MissingRank >= 0 ? frame.MissingRank : null, $"ring aborted upstream: {frame.Reason}");
        if (frame.Op != op || frame.Index != (uint)index)
            throw Fail(Group.Left, $"rank {Group.Left} is out of step: got op {frame.Op} frame {frame.Index}, expected op {op} frame {index}");
        return frame;
    }

    private async ValueTask<Frame> ReceiveSlowAsync(CancellationToken cancellationToken)
    {
        try
        {
            try { return await _inbound.Reader.ReadAsync(cancellationToken).AsTask().WaitAsync(Group.Timeout, cancellationToken); }
            catch (TimeoutException)
            {
                // The left rank may itself be waiting on a dead rank and about to say so: a short grace lets its
                // abort frame (naming the real culprit) arrive before this rank blames its neighbour.
                var grace = TimeSpan.FromTicks(Math.Min(Group.Timeout.Ticks / 2, TimeSpan.FromSeconds(2).Ticks));
                try { return await _inbound.Reader.ReadAsync(cancellationToken).AsTask().WaitAsync(grace, cancellationToken); }
                catch (TimeoutException) { throw Fail(Group.Left, $"no data from rank {Group.Left} for {Group.Timeout.TotalSeconds:0.###} s"); }
            }
        }
        catch (ChannelClosedException e) when (e.InnerException is CollectiveException inner) { throw Fail(inner.MissingRank, inner.Message, inner); }
    }

    private async Task SendAsync(ulong op, int index, ByteString data)
    {
        var frame = new Frame { Op = op, Index = (uint)index, Data = data };
        await _writeLock.WaitAsync();
        try { await _outbound!.WriteAsync(frame).WaitAsync(Group.Timeout); }
        catch (TimeoutException) { throw Fail(Group.Right, $"rank {Group.Right} took no data for {Group.Timeout.TotalSeconds:0.###} s"); }
        catch (Exception e) when (e is RpcException or IOException or InvalidOperationException or HttpRequestException)
        { throw Fail(Group.Right, $"sending to rank {Group.Right} failed: {e.Message}", e); }
        finally { _writeLock.Release(); }
    }

    private CollectiveException Fail(int? missingRank, string message, Exception? inner = null) =>
        new(Group.ExperimentId, Group.Generation, Group.Rank, missingRank, message, inner);

    /// <summary>Marks the communicator broken and tells the right neighbour, best effort and bounded in time.</summary>
    private async Task BreakAsync(CollectiveException failure)
    {
        if (Interlocked.CompareExchange(ref _broken, failure, null) is not null) return;
        _logger.LogWarning("Ring {Experiment} generation {Generation} rank {Rank} broken (missing rank {Missing}): {Message}",
            Group.ExperimentId, Group.Generation, Group.Rank, failure.MissingRank, failure.Message);
        if (_outbound is null || failure.MissingRank == Group.Right) return;
        var abort = new Frame { Abort = true, MissingRank = failure.MissingRank ?? -1, Reason = failure.Message };
        try
        {
            if (!await _writeLock.WaitAsync(TimeSpan.FromSeconds(1))) return;
            try { await _outbound.WriteAsync(abort).WaitAsync(TimeSpan.FromSeconds(1)); }
            finally { _writeLock.Release(); }
        }
        catch (Exception e) { _logger.LogDebug(e, "Could not forward the abort to rank {Right}", Group.Right); }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _hub.Unregister(this);
        // Waits for a write in progress, so the clean end of the stream follows the last frame.
        if (_outbound is not null && _broken is null && await _writeLock.WaitAsync(TimeSpan.FromSeconds(1))) _writeLock.Release();
        _outboundClosed.TrySetResult();
        _lifetime.Cancel();
        _inbound.Writer.TryComplete();
        _inboundCall?.Dispose();
        _channel?.Dispose();
        _lifetime.Dispose();
    }
}
