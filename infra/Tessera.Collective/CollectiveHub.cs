using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Tessera.Collective;

/// <summary>
/// The ranks living in this host (a silo may run several, of several experiments). A worker joins through it; the
/// gRPC service finds through it which local rank an incoming neighbour stream is for. A DI singleton.
/// </summary>
public sealed class CollectiveHub(ILoggerFactory? loggerFactory = null)
{
    private readonly ConcurrentDictionary<(string Experiment, int Rank), RingCommunicator> _members = new();

    internal ILoggerFactory LoggerFactory { get; } = loggerFactory ?? NullLoggerFactory.Instance;

    /// <summary>
    /// The certificate this process's data plane serves TLS with (the silo's --tls-cert), or null for cleartext HTTP/2.
    /// When set, every peer must be an https endpoint that presents this certificate or one this machine trusts: a ring
    /// never falls back to cleartext. The per-experiment secret is required on every stream either way.
    /// </summary>
    public X509Certificate2? TlsCertificate { get; set; }

    /// <summary>
    /// Joins the ring described by <paramref name="group"/>: registers this rank so its left neighbour can connect,
    /// connects to its right neighbour, and returns once both streams are up (or throws a
    /// <see cref="CollectiveException"/> naming the rank that did not show up within the group timeout).
    /// A newer generation of the same experiment and rank replaces an older one.
    /// </summary>
    public async Task<RingCommunicator> JoinAsync(RingGroup group, CollectiveOptions? options = null, CancellationToken cancellationToken = default)
    {
        group.Validate();
        var member = new RingCommunicator(this, group, options ?? CollectiveOptions.Default, LoggerFactory.CreateLogger<RingCommunicator>());
        var key = (group.ExperimentId, group.Rank);
        _members.AddOrUpdate(key, member, (_, existing) =>
            existing.Group.Generation < group.Generation || existing.IsDisposed
                ? member
                : throw new InvalidOperationException($"rank {group.Rank} of {group.ExperimentId} already joined generation {existing.Group.Generation}"));
        try { await member.ConnectAsync(cancellationToken); }
        catch
        {
            await member.DisposeAsync();
            throw;
        }
        return member;
    }

    internal void Unregister(RingCommunicator member) =>
        _members.TryRemove(new KeyValuePair<(string, int), RingCommunicator>((member.Group.ExperimentId, member.Group.Rank), member));

    /// <summary>
    /// The local rank a neighbour asks for. Ranks join concurrently, so wait (polling: this only runs at join) until
    /// a member of at least the caller's generation exists, or the wait is over (null).
    /// </summary>
    internal async Task<RingCommunicator?> FindAsync(string experiment, int rank, long generation, TimeSpan wait, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (_members.TryGetValue((experiment, rank), out var member) && !member.IsDisposed && member.Group.Generation >= generation)
                return member;
            if (clock.Elapsed >= wait) return member is { IsDisposed: false } ? member : null;
            await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
        }
    }
}
