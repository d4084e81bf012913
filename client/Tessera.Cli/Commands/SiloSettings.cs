using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Tessera.Infra.Storage;
using Tessera.Silo;

namespace Tessera.Cli.Commands;

/// <summary>
/// The silo's cluster settings from, in rising precedence: a JSON file (`--config`), the environment (TESSERA_REDIS,
/// TESSERA_BLOB, TESSERA_BLOB_CONTAINER, TESSERA_SLOTS, TESSERA_ADDRESS, TESSERA_CLUSTER_ID, TESSERA_LISTEN_ANY, TESSERA_KUBERNETES, TESSERA_HTTP_ADDRESS,
/// TESSERA_SUBMISSION_QUOTA) and
/// the command-line flags. Connection strings come from the environment or a file so they stay out of `ps`.
/// </summary>
public static class SiloSettings
{
    public const string Prefix = "TESSERA_";

    public static TesseraSiloOptions Resolve(SiloCommand.Settings flags)
    {
        var builder = new ConfigurationBuilder();
        if (flags.Config is { } file)
        {
            if (!File.Exists(file)) throw new ArgumentException($"--config {file}: no such file");
            builder.AddJsonFile(Path.GetFullPath(file), optional: false);
        }
        builder.AddEnvironmentVariables(Prefix);
        var set = new Dictionary<string, string?>();
        if (flags.Redis is not null) set["redis"] = flags.Redis;
        if (flags.Blob is not null) set["blob"] = flags.Blob;
        if (flags.Slots is not null) set["slots"] = flags.Slots.ToString();
        if (flags.TorchThreads is not null) set["torch_threads"] = flags.TorchThreads.ToString();
        if (flags.Address is not null) set["address"] = flags.Address;
        if (flags.ClusterId is not null) set["cluster_id"] = flags.ClusterId;
        if (flags.SubmissionQuota is not null) set["submission_quota"] = flags.SubmissionQuota.ToString();
        IConfiguration config = builder.AddInMemoryCollection(set).Build();

        var options = new TesseraSiloOptions
        {
            ArtifactRoot = flags.Runs, SiloPort = flags.Port, GatewayPort = flags.Gateway, HttpPort = flags.Http,
            CollectivePort = flags.Collective,
            RedisConnection = NonEmpty(config["redis"]),
            BlobConnection = NonEmpty(config["blob"]),
            BlobContainer = NonEmpty(config["blob_container"]) ?? BlobArtifactStore.DefaultContainer,
            ClusterId = NonEmpty(config["cluster_id"]) ?? TesseraSiloOptions.DefaultClusterId,
            ListenOnAnyAddress = config["listen_any"] is { } any && bool.TryParse(any, out bool yes) && yes,
        };
        if (config["http_address"] is { } httpAddress)
        {
            // Only where something else guards the port (a container's own network): the API has no authentication.
            if (!IPAddress.TryParse(httpAddress, out _))
                throw new ArgumentException($"http_address: '{httpAddress}' is not an IP address");
            options.HttpAddress = httpAddress;
        }
        if (config["slots"] is { } slots)
        {
            if (!int.TryParse(slots, out int n) || n < 1)
                throw new ArgumentException($"slots: '{slots}' is not a whole number of at least 1");
            options.Slots = n;
        }
        if (config["submission_quota"] is { } quota)
        {
            if (!int.TryParse(quota, out int n) || n < 1)
                throw new ArgumentException($"submission_quota: '{quota}' is not a whole number of at least 1 (experiments a team may have queued or running)");
            options.SubmissionQuota = n;
        }
        if (config["torch_threads"] is { } torchThreads)
        {
            if (!int.TryParse(torchThreads, out int n) || n < 1)
                throw new ArgumentException($"torch_threads: '{torchThreads}' is not a whole number of at least 1");
            options.TorchThreads = n;
        }
        if (config["address"] is { } address)
        {
            if (!IPAddress.TryParse(address, out _))
                throw new ArgumentException($"address: '{address}' is not an IP address");
            options.AdvertisedAddress = address;
            // The ranks of other silos reach this silo's data plane at the same address.
            options.CollectiveAddress = address;
        }
        if (config["kubernetes"] is { } kubernetes && bool.TryParse(kubernetes, out bool inPod) && inPod)
        {
            // Orleans' Kubernetes hosting advertises the pod's IP; the data plane must listen there too.
            options.Kubernetes = true;
            options.CollectiveAddress = Environment.GetEnvironmentVariable("POD_IP")
                ?? throw new ArgumentException("kubernetes: POD_IP is not set (the pod spec must pass status.podIP as POD_IP)");
            options.ClusterId = Environment.GetEnvironmentVariable("ORLEANS_CLUSTER_ID") ?? options.ClusterId;
        }
        return options;
    }

    /// <summary>One line on where this silo stands, with its servers named by endpoint only.</summary>
    public static string Describe(TesseraSiloOptions options, IHost host)
    {
        string cluster = options.RedisConnection is { } redis
            ? $"cluster '{options.ClusterId}' on {Secrets.DescribeRedis(redis)}, silo {options.AdvertisedAddress}:{options.SiloPort}, gateway {options.AdvertisedAddress}:{options.GatewayPort}"
            : $"alone (localhost clustering), gateway localhost:{options.GatewayPort}";
        string store = host.Services.GetRequiredService<IArtifactStore>().Location;
        return $"{cluster}, {DeviceSlots.Resolve(options)} slot(s), artifacts in {store}";
    }

    static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
