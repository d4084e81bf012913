using Tessera.Collective;

namespace Tessera.Tests.Collective;

/// <summary>
/// Many back-to-back operations on one reused buffer per rank, each rank on a thread of its own that blocks on the
/// ring, as training workers do: every result must be exact, every time.
/// </summary>
public sealed class RingStressTests
{
    [Fact]
    public async Task Back_to_back_averages_on_reused_buffers_are_all_exact()
    {
        const int ranks = 2, size = 60_001, ops = 60;
        await using var cluster = await LoopbackCluster.StartAsync(ranks);
        var rings = await Rings.JoinAllAsync(cluster, "stress");
        try
        {
            var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
            var threads = Enumerable.Range(0, ranks).Select(r => new Thread(() =>
            {
                var buffer = new float[size];
                for (int op = 0; op < ops; op++)
                {
                    for (int i = 0; i < size; i++) buffer[i] = Rings.Value(r + op, i);
                    if (op % 10 == 0) rings[r].BroadcastAsync(buffer).GetAwaiter().GetResult();
                    else rings[r].AllReduceAsync(buffer, ReduceOp.Average).GetAwaiter().GetResult();
                    for (int i = 0; i < size; i++)
                    {
                        float expected = op % 10 == 0 ? Rings.Value(op, i) : (Rings.Value(op, i) + Rings.Value(1 + op, i)) / 2;
                        if (Math.Abs(buffer[i] - expected) > 1e-6)
                        {
                            failures.Enqueue($"rank {r} op {op} index {i}: {buffer[i]} != {expected}");
                            break;
                        }
                    }
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            Assert.Empty(failures);
        }
        finally { await Rings.DisposeAllAsync(rings); }
    }
}
