using System.Buffers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tessera.Trainers.Distributed;

/// <summary>
/// Data-parallel glue for one model replica: averages gradients across ranks between backward and the
/// optimizer step, and copies rank 0's weights to every rank at start. Parameters travel as one flat fp32 CPU
/// buffer (one device copy each way); the ring reads and writes that buffer's memory in place, so there is
/// no further copy between tensors and the network.
/// </summary>
public sealed class GradientSync : IDisposable
{
    readonly Parameter[] _parameters;
    readonly IGradientReducer _reducer;
    readonly Tensor _flat;                      // (P,) float32, CPU
    readonly TensorMemory _memory;

    public GradientSync(IEnumerable<Parameter> parameters, IGradientReducer reducer)
    {
        _parameters = parameters.Where(p => p.requires_grad).ToArray();
        _reducer = reducer;
        long total = _parameters.Sum(p => p.numel());
        _flat = torch.zeros(total, dtype: ScalarType.Float32, device: CPU);
        _memory = new TensorMemory(_flat);
    }

    /// <summary>Number of floats exchanged per step.</summary>
    public long Size => _flat.numel();

    /// <summary>Makes every rank start from rank 0's weights.</summary>
    public void BroadcastParameters()
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        Gather(p => p);
        _reducer.BroadcastInPlace(_memory.Memory);
        Scatter(p => p);
    }

    /// <summary>Averages the gradients of all ranks in place; call after backward, before the optimizer step.</summary>
    public void AverageGradients()
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        foreach (var p in _parameters)
            if (p.grad is null) p.grad = torch.zeros_like(p); // a rank that did not touch a parameter still contributes zeros
        Gather(p => p.grad!);
        _reducer.AverageInPlace(_memory.Memory);
        Scatter(p => p.grad!);
    }

    void Gather(Func<Parameter, Tensor> select)
    {
        long offset = 0;
        foreach (var p in _parameters)
        {
            long n = p.numel();
            _flat.narrow(0, offset, n).copy_(select(p).reshape(-1));
            offset += n;
        }
    }

    void Scatter(Func<Parameter, Tensor> select)
    {
        long offset = 0;
        foreach (var p in _parameters)
        {
            long n = p.numel();
            select(p).copy_(_flat.narrow(0, offset, n).view_as(p));
            offset += n;
        }
    }

    public void Dispose()
    {
        ((IDisposable)_memory).Dispose();
        _flat.Dispose();
    }

    /// <summary>
    /// A <see cref="Memory{T}"/> over a contiguous CPU float tensor's storage, without copying it. The storage is
    /// native memory that never moves, so pinning is a no-op.
    /// </summary>
    sealed unsafe class TensorMemory(Tensor tensor) : MemoryManager<float>
    {
        public override Span<float> GetSpan() => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(tensor.bytes);

        public override MemoryHandle Pin(int elementIndex = 0) =>
            new((float*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(GetSpan())) + elementIndex);

        public override void Unpin() { }
        protected override void Dispose(bool disposing) { }
    }
}
