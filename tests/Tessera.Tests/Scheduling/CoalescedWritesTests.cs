using System.Threading.Channels;
using Tessera.Grains;

namespace Tessera.Tests.Scheduling;

/// <summary>The scheduler's group commit, with writes the test completes by hand, one step at a time.</summary>
public sealed class CoalescedWritesTests
{
    readonly Channel<TaskCompletionSource> _started = Channel.CreateUnbounded<TaskCompletionSource>();
    readonly CoalescedWrites _coalesced;

    public CoalescedWritesTests() => _coalesced = new CoalescedWrites(() =>
    {
        var write = new TaskCompletionSource();
        _started.Writer.TryWrite(write);
        return write.Task;
    });

    /// <summary>The next write, once it has begun.</summary>
    async Task<TaskCompletionSource> NextWrite() => await _started.Reader.ReadAsync();

    bool AnotherWriteBegan => _started.Reader.TryPeek(out _);

    [Fact]
    public async Task ChangesMadeDuringAWriteShareTheNextOne()
    {
        var first = _coalesced.Flush();
        var running = await NextWrite();
        var burst = Enumerable.Range(0, 100).Select(_ => _coalesced.Flush()).ToList();
        Assert.False(AnotherWriteBegan); // the burst waits: never a write beside the running one
        Assert.All(burst, t => Assert.Same(burst[0], t));

        running.SetResult();
        await first;
        var shared = await NextWrite(); // one write for the whole burst...
        Assert.All(burst, t => Assert.False(t.IsCompleted)); // ...which returns only when it is done
        var later = _coalesced.Flush(); // a change made after that write began needs a write of its own
        Assert.NotSame(burst[0], later);

        shared.SetResult();
        await Task.WhenAll(burst);
        var last = await NextWrite();
        Assert.False(later.IsCompleted);
        last.SetResult();
        await later;
        Assert.Equal(3, _coalesced.Writes);
        Assert.False(AnotherWriteBegan);
    }

    [Fact]
    public async Task AFailedWriteFailsItsOwnCallersOnly()
    {
        var first = _coalesced.Flush();
        var failing = await NextWrite();
        var second = _coalesced.Flush();
        failing.SetException(new IOException("storage down"));
        await Assert.ThrowsAsync<IOException>(() => first);
        var next = await NextWrite(); // the second change is written by a write of its own, which starts regardless
        Assert.False(second.IsCompleted);
        next.SetResult();
        await second;
    }

    [Fact]
    public async Task SettledWaitsForWritesUnderWayAndAsksForNone()
    {
        await _coalesced.Settled();
        Assert.Equal(0, _coalesced.Writes);
        var flushed = _coalesced.Flush();
        var running = await NextWrite();
        var settled = _coalesced.Settled();
        Assert.False(settled.IsCompleted);
        running.SetException(new IOException("storage down"));
        await settled; // a failed write is its writers' to report
        await Assert.ThrowsAsync<IOException>(() => flushed);
        Assert.Equal(1, _coalesced.Writes);
    }
}
