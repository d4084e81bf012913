using Tessera.Collective;

namespace Tessera.Grains.Workers;

/// <summary>
/// This silo's end of the data plane: the hub its ranks join rings through, and the gRPC endpoint where the hub is
/// served (set by the host that maps the collective service; null where none is, e.g. a bare test cluster).
/// </summary>
public sealed class DataPlane(CollectiveHub hub)
{
    public CollectiveHub Hub => hub;
    public Uri? Endpoint { get; set; }
}
