using Tessera.Trainers;
using TorchSharp;

namespace Tessera.Tests.Trainers;

[Collection(TorchCollection.Name)]
public class TorchRuntimeTests
{
    [Fact]
    public void InitializeIsIdempotent()
    {
        int first = TorchRuntime.Initialize(2);
        Assert.Equal(first, TorchRuntime.Initialize(1)); // the first call wins for the whole process
        Assert.Equal(first, TorchRuntime.Threads);
    }

    [Fact]
    public void InitializeRejectsZeroThreads() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => TorchRuntime.Initialize(0));

    [Fact]
    public void ResolvesCpuAndAuto()
    {
        Assert.Equal(DeviceType.CPU, TorchRuntime.ResolveDevice("cpu").type);
        Assert.Equal(DeviceType.CPU, TorchRuntime.ResolveDevice(" CPU ").type);
        var auto = TorchRuntime.ResolveDevice("auto");
        Assert.Equal(torch.cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU, auto.type);
    }

    [Fact]
    public void CudaWithoutCudaIsAClearError()
    {
        if (torch.cuda.is_available())
        {
            Assert.Equal(DeviceType.CUDA, TorchRuntime.ResolveDevice("cuda").type);
            return;
        }
        var error = Assert.Throws<InvalidOperationException>(() => TorchRuntime.ResolveDevice("cuda"));
        Assert.Contains("CUDA is not available", error.Message);
    }

    [Fact]
    public void UnknownDeviceIsRejected() =>
        Assert.Throws<ArgumentException>(() => TorchRuntime.ResolveDevice("tpu"));
}
