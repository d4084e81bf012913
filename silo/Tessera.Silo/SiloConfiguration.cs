using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Tessera.Collective;
using Tessera.Grains;
using Tessera.Grains.Workers;
using Tessera.Infra.Storage;
using Tessera.Silo.Storage;
using Orleans.Runtime.Hosting;

namespace Tessera.Silo;

/// <summary>Adds everything a Tessera silo runs on to an Orleans silo builder.</summary>
public static class SiloConfiguration
{
    public static ISiloBuilder UseTessera(this ISiloBuilder silo, TesseraSiloOptions options)
    {
        silo.UseLocalhostClustering(
            siloPort: options.SiloPort == 0 ? FreeTcpPort() : options.SiloPort,
            gatewayPort: options.GatewayPort == 0 ? FreeTcpPort() : options.GatewayPort,
            serviceId: TesseraSiloOptions.ServiceId,
            clusterId: TesseraSiloOptions.ClusterId);
        silo.AddTesseraServices(options);
        return silo;
    }

    /// <summary>The grain storage and silo services, without clustering (the test cluster brings its own).</summary>
    public static ISiloBuilder AddTesseraServices(this ISiloBuilder silo, TesseraSiloOptions options)
    {
        // Experiment and scheduler state beside the artifacts, so a workflow survives the process (see ArtifactGrainStorage).
        silo.Services.AddGrainStorage(GrainStorage.Experiments, (sp, _) =>
            new ArtifactGrainStorage(sp.GetRequiredService<IArtifactStore>(), sp.GetRequiredService<Orleans.Serialization.Serializer>()));
        silo.Services.AddSingleton(options);
        silo.Services.AddSingleton<IArtifactStore>(_ => new LocalArtifactStore(options.ArtifactRoot));
        silo.Services.AddSingleton(new WorkerSettings(options.TorchThreads));
        silo.Services.AddSingleton<ShardCache>();
        silo.Services.AddSingleton<DatasetPreparer>();
        silo.Services.AddSingleton<WorkerServices>();
        silo.Services.TryAddSingleton<CollectiveHub>();
        silo.Services.AddSingleton<DataPlane>();
        return silo;
    }

    internal static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
