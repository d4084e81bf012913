using Tessera.Collective;

namespace Tessera.Tests.Collective;

/// <summary>Ring all-reduce, broadcast and bucketing over real gRPC between in-process Kestrel hosts on 127.0.0.1.</summary>
public sealed class RingAllReduceTests
{
    // Small chunks so that even modest buffers are cut into many pipelined frames.
    private static readonly CollectiveOptions SmallChunks = new() { ChunkBytes = 1024 };

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task AllReduce_equals_the_elementwise_sum_for_any_size(int n)
    {
        await using var cluster = await LoopbackCluster.StartAsync(n);
        var rings = await Rings.JoinAllAsync(cluster, $"sum-{n}", SmallChunks);
        try
        {
            // Empty, smaller than N, odd, one chunk exactly, many chunks with a ragged tail.
            foreach (int size in new[] { 0, 1, 2, 3, 7, 256, 1001, 20_003 })
            {
                var buffers = Enumerable.Range(0, n).Select(r => Enumerable.Range(0, size).Select(i => Rings.Value(r, i)).ToArray()).ToArray();
                await Task.WhenAll(rings.Select((ring, r) => ring.AllReduceAsync(buffers[r])));
                for (int i = 0; i < size; i++)
                {
                    float expected = 0;
                    for (int r = 0; r < n; r++) expected += Rings.Value(r, i);
                    for (int r = 0; r < n; r++) Assert.Equal(expected, buffers[r][i], 4);
                }
                for (int r = 1; r < n; r++) Assert.Equal(buffers[0], buffers[r]);
            }
        }
        finally { await Rings.DisposeAllAsync(rings); }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(1000)]
    public async Task AllReduce_is_exact_whatever_the_send_ahead_bound(int sendAhead)
    {
        // A frame is forwarded only after it arrived; the bound adds a tighter lockstep, which must not change sums.
        const int n = 3, size = 20_003;
        await using var cluster = await LoopbackCluster.StartAsync(n);
        var rings = await Rings.JoinAllAsync(cluster, $"ahead-{sendAhead}", SmallChunks with { SendAheadFrames = sendAhead });
        try
        {
            var buffers = Enumerable.Range(0, n).Select(r => Enumerable.Range(0, size).Select(i => Rings.Value(r, i)).ToArray()).ToArray();
            await Task.WhenAll(rings.Select((ring, r) => ring.AllReduceAsync(buffers[r])));
            for (int i = 0; i < size; i++)
                Assert.Equal(Rings.Value(0, i) + Rings.Value(1, i) + Rings.Value(2, i), buffers[0][i], 4);
            for (int r = 1; r < n; r++) Assert.Equal(buffers[0], buffers[r]);
        }
        finally { await Rings.DisposeAllAsync(rings); }
    }

    [Fact]
    public async Task Average_divides_by_the_world_size()
    {
        await using var cluster = await LoopbackCluster.StartAsync(3);
        var rings = await Rings.JoinAllAsync(cluster, "avg", SmallChunks);
        try
        {
            var buffers = Enumerable.Range(0, 3).Select(r => Enumerable.Repeat((float)(r + 1), 999).ToArray()).ToArray();
            await Task.WhenAll(rings.Select((ring, r) => ring.AllReduceAsync(buffers[r], ReduceOp.Average)));
            foreach (var buffer in buffers) Assert.All(buffer, v => Assert.Equal(2f, v, 5));
        }
        finally { await Rings.DisposeAllAsync(rings); }
    }

    [Theory]
    [InlineData(WireCompression.BFloat16, 1.0 / 256)]
    [InlineData(WireCompression.Float16, 1.0 / 2048)]
    public async Task Compressed_all_reduce_stays_within_the_format_bounds_and_ranks_agree(WireCompression compression, double epsilon)
    {
        const int n = 3, size = 10_007;
        await using var cluster = await LoopbackCluster.StartAsync(n);
        var rings = await Rings.JoinAllAsync(cluster, $"compressed-{compression}", SmallChunks with { Compression = compression });
        try
        {
            var buffers = Enumerable.Range(0, n).Select(r => Enumerable.Range(0, size).Select(i => Rings.Value(r, i) * 0.37f).ToArray()).ToArray();
            await Task.WhenAll(rings.Select((ring, r) => ring.AllReduceAsync(buffers[r])));
            for (int i = 0; i < size; i++)
            {
                double exact = 0, magnitude = 0;
                for (int r = 0; r < n; r++) { exact += Rings.Value(r, i) * 0.37f; magnitude += Math.Abs(Rings.Value(r, i) * 0.37f); }
                // One rounding per hop of the partial sums (n - 1) plus the final one, each at most epsilon relative.
                double bound = n * epsilon * magnitude + 1e-6;
                Assert.True(Math.Abs(buffers[0][i] - exact) <= bound, $"index {i}: {buffers[0][i]} vs {exact} (bound {bound})");
            }
            // Identical weights everywhere: the owner rounds its segment to the wire format before sharing it.
            for (int r = 1; r < n; r++) Assert.Equal(buffers[0], buffers[r]);
        }
        finally { await Rings.DisposeAllAsync(rings); }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public async Task Broadcast_copies_the_root_buffer_to_every_rank(int root)
    {
        const int n = 4, size = 5_001;
        await using var cluster = await LoopbackCluster.StartAsync(n);
        var rings = await Rings.JoinAllAsync(cluster, $"broadcast-{root}", SmallChunks);
        try
        {
            var buffers = Enumerable.Range(0, n).Select(r => Enumerable.Range(0, size).Select(i => Rings.Value(r, i)).ToArray()).ToArray();
            var expected = (float[])buffers[root].Clone();
            await Task.WhenAll(rings.Select((ring, r) => ring.BroadcastAsync(buffers[r], root)));
            foreach (var buffer in buffers) Assert.Equal(expected, buffer);
        }
        finally { await Rings.DisposeAllAsync(rings); }
    }

    [Fact]
    public async Task Bucketed_all_reduce_sums_many_small_and_large_buffers()
    {
        const int n = 2;
        int[] lengths = [3, 0, 10, 100, 5, 700, 1, 64, 64, 2000, 7];
        await using var cluster = await LoopbackCluster.StartAsync(n);
        var rings = await Rings.JoinAllAsync(cluster, "buckets", SmallChunks);
        try
        {
            var perRank = Enumerable.Range(0, n)
                .Select(r => lengths.Select((length, b) => Enumerable.Range(0, length).Select(i => Rings.Value(r, i + 31 * b)).ToArray()).ToArray())
                .ToArray();
            // 1 KB buckets: small buffers share a bucket, the 700- and 2000-float ones go alone.
            var bucketers = rings.Select(ring => new GradientBucketer(ring, bucketBytes: 1024)).ToArray();
            await Task.WhenAll(bucketers.Select((bucketer, r) => bucketer.AllReduceAsync(perRank[r].Select(a => a.AsMemory()).ToArray())));
            for (int b = 0; b < lengths.Length; b++)
                for (int i = 0; i < lengths[b]; i++)
                {
                    float expected = Rings.Value(0, i + 31 * b) + Rings.Value(1, i + 31 * b);
                    Assert.Equal(expected, perRank[0][b][i], 4);
                    Assert.Equal(expected, perRank[1][b][i], 4);
                }
            foreach (var bucketer in bucketers) bucketer.Dispose();
        }
        finally { await Rings.DisposeAllAsync(rings); }
    }
}
