using TorchSharp;

namespace Tessera.Silo;

/// <summary>How many trainer ranks a silo runs at once when it is not told.</summary>
public static class DeviceSlots
{
    /// <summary>One slot per GPU; without one, one per two CPU cores (a rank's libtorch keeps two cores busy), at least one.</summary>
    public static int Default()
    {
        if (torch.cuda.is_available()) return torch.cuda.device_count();
        return Math.Max(1, Environment.ProcessorCount / 2);
    }

    public static int Resolve(TesseraSiloOptions options) => options.Slots ?? Default();
}
