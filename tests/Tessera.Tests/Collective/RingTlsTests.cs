using Tessera.Collective;
using Tessera.Tests.Reliability;

namespace Tessera.Tests.Collective;

/// <summary>
/// The data plane over TLS (a silo's --tls-cert): ranks serve https with the cluster's certificate and connect only to
/// peers presenting it, never to a cleartext endpoint; the per-experiment secret is still required on every stream.
/// </summary>
public sealed class RingTlsTests
{
    static readonly TimeSpan ShortTimeout = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task RanksAllReduceOverTlsWithTheClustersCertificate()
    {
        using var certificate = TestCertificates.SelfSigned();
        await using var cluster = await LoopbackCluster.StartAsync(3, certificate: certificate);
        Assert.All(cluster.Endpoints, e => Assert.Equal("https", e.Scheme));
        var rings = await Rings.JoinAllAsync(cluster, "tls", new CollectiveOptions { ChunkBytes = 1024 });
        try
        {
            var buffers = Enumerable.Range(0, 3).Select(r => Enumerable.Range(0, 5000).Select(i => Rings.Value(r, i)).ToArray()).ToArray();
            await Task.WhenAll(rings.Select((ring, r) => ring.AllReduceAsync(buffers[r])));
            for (int i = 0; i < 5000; i++)
                Assert.Equal(Rings.Value(0, i) + Rings.Value(1, i) + Rings.Value(2, i), buffers[0][i], 4);
            Assert.Equal(buffers[0], buffers[2]);
        }
        finally { await Rings.DisposeAllAsync(rings); }
    }

    [Fact]
    public async Task OverTlsTheSecretIsStillRequired()
    {
        using var certificate = TestCertificates.SelfSigned();
        await using var cluster = await LoopbackCluster.StartAsync(2, certificate: certificate);
        var honest = cluster.Hub(0).JoinAsync(cluster.Group(0, "mixed", "the-real-secret", timeout: ShortTimeout));
        var intruder = cluster.Hub(1).JoinAsync(cluster.Group(1, "mixed", "a-guessed-secret", timeout: ShortTimeout));
        var errors = new[] { await Assert.ThrowsAsync<CollectiveException>(() => honest), await Assert.ThrowsAsync<CollectiveException>(() => intruder) };
        Assert.Contains(errors, e => e.Message.Contains("PermissionDenied"));
    }

    [Fact]
    public async Task APeerShowingAnotherCertificateIsNotTrusted()
    {
        using var certificate = TestCertificates.SelfSigned();
        using var other = TestCertificates.SelfSigned();
        await using var cluster = await LoopbackCluster.StartAsync(2, certificate: certificate);
        // Rank 0 expects a different cluster certificate than its peer serves: the handshake fails, so no stream forms.
        cluster.Hub(0).TlsCertificate = other;
        var joins = Enumerable.Range(0, 2).Select(r => cluster.Hub(r).JoinAsync(cluster.Group(r, "distrust", "s3cret", timeout: ShortTimeout))).ToArray();
        var error = await Assert.ThrowsAsync<CollectiveException>(() => joins[0]);
        Assert.Contains("rank 1", error.Message);
        await Assert.ThrowsAsync<CollectiveException>(() => joins[1]);
    }

    [Fact]
    public async Task ATlsRankRefusesACleartextPeer()
    {
        using var certificate = TestCertificates.SelfSigned();
        await using var tls = await LoopbackCluster.StartAsync(1, certificate: certificate);
        await using var plain = await LoopbackCluster.StartAsync(1);
        var group = new RingGroup("mixed-transport", 0, 2, [tls.Endpoints[0], plain.Endpoints[0]], "s3cret", 1) { Timeout = ShortTimeout };
        var error = await Assert.ThrowsAsync<CollectiveException>(() => tls.Hub(0).JoinAsync(group));
        Assert.Contains("cleartext endpoint", error.Message);
    }
}
