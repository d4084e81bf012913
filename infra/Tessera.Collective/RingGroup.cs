namespace Tessera.Collective;

/// <summary>
/// Who is in the ring, as decided outside (the experiment grain): this code only consumes it.
/// <see cref="Peers"/> lists every rank's gRPC endpoint in ring order, this rank's own included,
/// so rank r sends to <c>Peers[(r + 1) % WorldSize]</c> and receives from <c>(r - 1) % WorldSize</c>.
/// </summary>
public sealed record RingGroup(
    string ExperimentId,
    int Rank,
    int WorldSize,
    IReadOnlyList<Uri> Peers,
    string Secret,
    long Generation)
{
    /// <summary>How long any wait on a peer may last before the ring is declared broken.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    public int Right => (Rank + 1) % WorldSize;
    public int Left => (Rank - 1 + WorldSize) % WorldSize;

    /// <summary>Fails fast on a malformed group rather than hanging on it later.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ExperimentId)) throw new ArgumentException("experiment id is empty");
        if (WorldSize < 1) throw new ArgumentException($"world size {WorldSize} < 1");
        if (Rank < 0 || Rank >= WorldSize) throw new ArgumentException($"rank {Rank} outside 0..{WorldSize - 1}");
        if (Peers.Count != WorldSize) throw new ArgumentException($"{Peers.Count} peers for world size {WorldSize}");
        if (string.IsNullOrEmpty(Secret)) throw new ArgumentException("secret is empty");
        if (Timeout <= TimeSpan.Zero) throw new ArgumentException("timeout must be positive");
    }

    // The secret must never reach a log line through a record's generated ToString.
    public override string ToString() =>
        $"RingGroup {{ ExperimentId = {ExperimentId}, Rank = {Rank}/{WorldSize}, Generation = {Generation}, Timeout = {Timeout} }}";
}

/// <summary>What travels on the wire; accumulation is always fp32.</summary>
public enum WireCompression { None, BFloat16, Float16 }

public enum ReduceOp { Sum, Average }

/// <summary>Tuning knobs of the transport; the defaults are what the loopback bench settled on.</summary>
public sealed record CollectiveOptions
{
    /// <summary>Payload bytes per frame (fp32 bytes before compression). Smaller pipelines better, larger costs less per byte.</summary>
    public int ChunkBytes { get; init; } = 256 * 1024;

    public WireCompression Compression { get; init; } = WireCompression.None;

    /// <summary>Frames buffered per inbound stream before HTTP/2 flow control pushes back on the sender.</summary>
    public int InboundQueueFrames { get; init; } = 32;

    /// <summary>
    /// How many frames an all-reduce sends ahead of the frames it has received itself. Ranks move in step, so this
    /// bounds the data waiting between neighbours: memory, and the HTTP/2 client's receive buffer, which allocates
    /// new blocks when it grows past its pool. A few chunks keep the pipe full on loopback.
    /// </summary>
    public int SendAheadFrames { get; init; } = 2;

    /// <summary>Initial HTTP/2 stream receive window of the client side, where the frames arrive (SocketsHttpHandler may grow it).</summary>
    public int Http2WindowBytes { get; init; } = 16 * 1024 * 1024;

    public static CollectiveOptions Default { get; } = new();

    internal int ChunkElements => Math.Max(1, ChunkBytes / sizeof(float));
    internal int SendAheadFramesOrOne => Math.Max(1, SendAheadFrames);
}
