using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using StackExchange.Redis;
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
    /// <summary>
    /// Embedded (no Redis): localhost clustering, as a single silo. Cluster mode: Redis membership, with this silo's
    /// silo and gateway ports advertised at <see cref="TesseraSiloOptions.AdvertisedAddress"/>.
    /// </summary>
    public static ISiloBuilder UseTessera(this ISiloBuilder silo, TesseraSiloOptions options)
    {
        int siloPort = options.SiloPort == 0 ? FreeTcpPort() : options.SiloPort;
        int gatewayPort = options.GatewayPort == 0 ? FreeTcpPort() : options.GatewayPort;
        if (options.RedisConnection is { } redis)
        {
            if (options.Kubernetes)
            {
                silo.UseKubernetesHosting();
            }
            else
            {
                silo.Configure<ClusterOptions>(cluster =>
                {
                    cluster.ClusterId = options.ClusterId;
                    cluster.ServiceId = TesseraSiloOptions.ServiceId;
                });
                silo.ConfigureEndpoints(IPAddress.Parse(options.AdvertisedAddress), siloPort, gatewayPort, options.ListenOnAnyAddress);
            }
            silo.UseRedisClustering(clustering => clustering.ConfigurationOptions = RedisOptions(redis));
        }
        else
        {
            silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: TesseraSiloOptions.ServiceId, clusterId: options.ClusterId);
        }
        silo.AddTesseraServices(options);
        return silo;
    }

    /// <summary>The grain storage and silo services, without clustering (the test cluster brings its own).</summary>
    public static ISiloBuilder AddTesseraServices(this ISiloBuilder silo, TesseraSiloOptions options)
    {
        if (options.RedisConnection is { } redis)
        {
            silo.AddRedisGrainStorage(GrainStorage.Experiments, storage => storage.ConfigurationOptions = RedisOptions(redis));
            // Reminders outlive every silo: a live experiment's reminder wakes it after the whole cluster restarted.
            silo.UseRedisReminderService(reminders => reminders.ConfigurationOptions = RedisOptions(redis));
        }
        else
        {
            // Experiment and scheduler state beside the artifacts, so a workflow survives the process (see ArtifactGrainStorage).
            silo.Services.AddGrainStorage(GrainStorage.Experiments, (sp, _) =>
                new ArtifactGrainStorage(sp.GetRequiredService<IArtifactStore>(), sp.GetRequiredService<Orleans.Serialization.Serializer>()));
            // One process: reminders die with it, and `tessera resume` continues what it left.
            silo.UseInMemoryReminderService();
        }
        silo.Services.AddSingleton(options);
        silo.Services.AddSingleton(new SubmissionQuota(options.SubmissionQuota));
        silo.Services.AddSingleton<IArtifactStore>(_ => options.BlobConnection is { } blob
            ? BlobArtifactStore.Connect(blob, options.BlobContainer)
            : new LocalArtifactStore(options.ArtifactRoot));
        silo.Services.AddSingleton(new WorkerSettings(options.TorchThreads));
        silo.Services.AddSingleton<ShardCache>();
        silo.Services.AddSingleton<DatasetPreparer>();
        silo.Services.AddSingleton<WorkerServices>();
        silo.Services.AddSingleton<RunningWorkers>();
        silo.Services.TryAddSingleton<CollectiveHub>();
        silo.Services.AddSingleton<DataPlane>();
        silo.AddPlacementDirector<SlotPlacementStrategy, SlotPlacementDirector>();
        silo.Services.AddSingleton<SlotRegistration>();
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(provider => provider.GetRequiredService<SlotRegistration>());
        return silo;
    }

    /// <summary>Parsed once per provider; keeps retrying in the background when Redis is not up yet, as a restarting cluster needs.</summary>
    static ConfigurationOptions RedisOptions(string connection)
    {
        var parsed = ConfigurationOptions.Parse(connection);
        parsed.AbortOnConnectFail = false;
        return parsed;
    }

    /// <summary>
    /// A port that is free now, for a listener that binds it a moment later. Chosen below the kernel's ephemeral range:
    /// the port 0 trick hands out a port from that range, where every outgoing connection (Redis, gRPC, HTTP) also
    /// takes its local port, and one of them could take it before the listener binds ("address already in use", seen
    /// in the test suite). Below the range only another listener can take it.
    /// </summary>
    internal static int FreeTcpPort()
    {
        var (low, _) = EphemeralRange();
        int floor = 10_000;
        for (int attempt = 0; attempt < 64 && low - floor > 1000; attempt++)
        {
            int port = Random.Shared.Next(floor, low);
            try
            {
                using var probe = new TcpListener(IPAddress.Any, port); // Any: also clashes with a listener on another address
                probe.Start();
                return port;
            }
            catch (SocketException) { }
        }
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Linux's ip_local_port_range (default 32768-60999); the IANA range elsewhere.</summary>
    static (int Low, int High) EphemeralRange()
    {
        try
        {
            var parts = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return (int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return (49152, 65535);
        }
    }
}
