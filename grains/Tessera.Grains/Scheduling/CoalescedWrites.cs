namespace Tessera.Grains;

/// <summary>
/// Group commit of a reentrant grain's state. A call that changed the state awaits <see cref="Flush"/>; at most one
/// write runs at a time, and every call that changes the state while one runs shares the next write. So a burst of
/// calls queued behind a slow write costs two writes, not one per call, and each caller still returns only after a
/// write that began after its change (the storage provider serializes the state when the write begins).
/// Must be used from one thread at a time, as a grain's turns are.
/// </summary>
public sealed class CoalescedWrites(Func<Task> write)
{
    // The write in flight, or the last one.
    Task _current = Task.CompletedTask;
    // A write queued behind _current that has not begun yet: it will include any change made now.
    Task? _waiting;

    /// <summary>Writes started so far.</summary>
    public long Writes { get; private set; }

    /// <summary>Completes once a write that includes every change made so far has finished (or throws its failure).</summary>
    public Task Flush()
    {
        if (_waiting is not null) return _waiting;
        if (_current.IsCompleted) return _current = Begin();
        return _waiting = After(_current);
    }

    /// <summary>
    /// Completes once the writes already asked for have finished, without asking for another: for a caller that
    /// changed nothing but hands out something an earlier change made (which must be durable before it leaves).
    /// A write that failed is not rethrown here; the next change writes the whole state again.
    /// </summary>
    public async Task Settled()
    {
        try { await (_waiting ?? _current); }
        catch { /* see above */ }
    }

    async Task After(Task previous)
    {
        try { await previous; }
        catch { /* that write's callers see its failure; this one is a write of its own */ }
        _waiting = null;
        await (_current = Begin());
    }

    Task Begin()
    {
        Writes++;
        return write();
    }
}
