using TorchSharp;

namespace Tessera.Trainers;

/// <summary>Process-wide libtorch setup: thread count (once per process) and device resolution.</summary>
public static class TorchRuntime
{
    private static readonly object Gate = new();
    private static int? _threads;

    /// <summary>The thread count set by the first <see cref="Initialize"/> call, or null before it.</summary>
    public static int? Threads
    {
        get { lock (Gate) return _threads; }
    }

    /// <summary>
    /// Sets libtorch's intra-op thread count the first time it is called; later calls are no-ops, because
    /// libtorch forbids changing its inter-op pool once work has run and a second caller must not race the first.
    /// Returns the thread count in force.
    /// </summary>
    public static int Initialize(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "need at least one thread");
        lock (Gate)
        {
            if (_threads is int current) return current;
            torch.set_num_threads(threads);
            _threads = threads;
            return threads;
        }
    }

    /// <summary>
    /// Caps the intra-op threads of work started from the calling thread, for several ranks sharing one process:
    /// libtorch's CPU build parallelises with OpenMP, whose team size is a per-thread setting, so each rank's worker
    /// thread gets its own budget instead of every rank fanning out over every core. Call after <see cref="Initialize"/>.
    /// </summary>
    public static void LimitCallingThread(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "need at least one thread");
        if (Threads is null) throw new InvalidOperationException("TorchRuntime.Initialize must run first");
        torch.set_num_threads(threads);
    }

    /// <summary>
    /// Runs <paramref name="body"/> inside one dispose scope that owns every tensor the calling thread creates meanwhile,
    /// also those made outside the body's own scopes, and frees them when it returns; <paramref name="freed"/> says how
    /// many it held. Why: TorchSharp tensors have finalizers and its methods hand libtorch raw handles, so a temporary
    /// referenced from nowhere while its own op runs (<c>a.abs().mul(b)</c>: the result of <c>abs</c>) can be finalized
    /// by a collection on another thread mid-op, and libtorch then reads freed memory: a segfault without a message. A
    /// scope references each tensor until it ends. Scalars made from numbers (<c>t.mul(0.5)</c>) are not scope-owned
    /// and keep that race, an open TorchSharp issue (dotnet/TorchSharp pull requests 1434 and 1496).
    /// </summary>
    public static T OwningEveryTensor<T>(Func<T> body, out int freed)
    {
        ArgumentNullException.ThrowIfNull(body);
        using var scope = torch.NewDisposeScope();
        T result = body();
        freed = scope.DisposablesCount;
        return result;
    }

    /// <summary>Maps "auto", "cpu" or "cuda" (optionally "cuda:N") to a device; asking for CUDA without it is an error.</summary>
    public static torch.Device ResolveDevice(string requested)
    {
        ArgumentNullException.ThrowIfNull(requested);
        var name = requested.Trim().ToLowerInvariant();
        if (name == "auto") return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        if (name == "cpu") return torch.CPU;
        if (name == "cuda" || name.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!torch.cuda.is_available())
                throw new InvalidOperationException(
                    $"device '{requested}' was requested but CUDA is not available here (CPU build of libtorch or no GPU); use 'cpu' or 'auto'");
            return new torch.Device(name);
        }
        throw new ArgumentException($"unknown device '{requested}': expected auto, cpu or cuda", nameof(requested));
    }
}
