using Tessera.Stages;
using System.Net;
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
        int siloPort = options.SiloPort == 0 ? FreePorts.Next() : options.SiloPort;
        int gatewayPort = options.GatewayPort == 0 ? FreePorts.Next() : options.GatewayPort;
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
}
