namespace Tessera.Silo;

/// <summary>How a Tessera silo is set up. The CLI, the standalone silo and the tests all build from this.</summary>
public sealed class TesseraSiloOptions
{
    /// <summary>Root directory of the local artifact store (datasets, checkpoints, reports).</summary>
    public string ArtifactRoot { get; set; } = "runs";

    /// <summary>Silo-to-silo port; 0 picks a free port (embedded mode).</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Port clients connect to; 0 picks a free port (embedded mode).</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Threads libtorch may use in this process (set once, before the first tensor).</summary>
    public int TorchThreads { get; set; } = Environment.ProcessorCount;

    /// <summary>Address the HTTP API and dashboard listen on; loopback by default because the API has no authentication.</summary>
    public string HttpAddress { get; set; } = "127.0.0.1";

    /// <summary>Port of the HTTP API and dashboard; 0 picks a free port.</summary>
    public int HttpPort { get; set; } = DefaultHttpPort;

    /// <summary>
    /// When <see cref="HttpPort"/> is taken, use a free port instead of failing (`tessera run`, where a second
    /// run beside a standalone silo must still start).
    /// </summary>
    public bool HttpPortFallback { get; set; }

    /// <summary>
    /// Address of the data plane: the gRPC endpoint (HTTP/2; over TLS with <see cref="TlsCertificatePath"/>) where ranks of data-parallel stages
    /// exchange gradients. Loopback by default: embedded mode runs every rank in this process.
    /// </summary>
    public string CollectiveAddress { get; set; } = "127.0.0.1";

    /// <summary>Port of the data plane; 0 picks a free port.</summary>
    public int CollectivePort { get; set; }

    /// <summary>
    /// Redis connection string (StackExchange.Redis format, e.g. <c>redis1:6379,password=...</c>). Set: cluster mode,
    /// with Redis membership and grain state. Null: the embedded default, localhost clustering and memory state.
    /// Never logged: <see cref="Secrets"/> redacts it.
    /// </summary>
    public string? RedisConnection { get; set; }

    /// <summary>Azure Storage connection string of the artifact store (Azurite or Azure); null keeps the local <see cref="ArtifactRoot"/>.</summary>
    public string? BlobConnection { get; set; }

    /// <summary>Blob container of the artifacts.</summary>
    public string BlobContainer { get; set; } = "tessera";

    /// <summary>Which cluster this silo joins; silos and clients of one cluster must agree.</summary>
    public string ClusterId { get; set; } = DefaultClusterId;

    /// <summary>
    /// Address other silos and clients reach this silo's silo and gateway ports at, in cluster mode (the listeners
    /// bind to it too unless <see cref="ListenOnAnyAddress"/>).
    /// </summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>Bind the silo and gateway listeners to every interface (containers, where the advertised address is the pod's).</summary>
    public bool ListenOnAnyAddress { get; set; }

    /// <summary>
    /// Running as a Kubernetes pod (Orleans Kubernetes hosting): the advertised address comes from POD_IP, the cluster
    /// and service ids from ORLEANS_CLUSTER_ID / ORLEANS_SERVICE_ID, and pods of dead silos are deleted.
    /// </summary>
    public bool Kubernetes { get; set; }

    /// <summary>Device slots this silo offers the scheduler: trainer ranks it runs at once. Null: <see cref="DeviceSlots.Default"/>.</summary>
    public int? Slots { get; set; }

    /// <summary>
    /// The most experiments one team may have queued or running at once; more are refused with a
    /// <see cref="Tessera.Grains.SubmissionQuotaException"/>. Null (the default): no limit.
    /// </summary>
    public int? SubmissionQuota { get; set; }

    /// <summary>Mount the Orleans Dashboard under <c>/orleans</c> (it adds a profiling filter to every grain call).</summary>
    public bool OrleansDashboard { get; set; } = true;

    /// <summary>
    /// Tokens clients must present on the gateway and the HTTP API (<see cref="Security.ClusterTokens"/>); none (the
    /// default, and embedded mode) turns authentication off.
    /// </summary>
    public Security.ClusterTokens Tokens { get; set; } = Security.ClusterTokens.None;

    /// <summary>
    /// A PKCS#12 (.pfx) certificate: when set, the HTTP API and dashboard are served over HTTPS only, and the Orleans
    /// connections (silo to silo, clients to the gateway) and the data plane (the gRPC collective) use TLS with it.
    /// </summary>
    public string? TlsCertificatePath { get; set; }

    /// <summary>Password of <see cref="TlsCertificatePath"/>, if it has one.</summary>
    public string? TlsCertificatePassword { get; set; }

    /// <summary>
    /// Serve the fault-injection endpoints (<see cref="Api.FaultInjectionApi"/>: fail a running rank on request) for
    /// chaos tests. Off unless asked for explicitly; never on in production.
    /// </summary>
    public bool EnableFaultInjection { get; set; }

    public const int DefaultHttpPort = 5080;
    public const string ServiceId = "tessera";
    public const string DefaultClusterId = "tessera-local";

    /// <summary>True when the silo joins a Redis-backed cluster rather than running alone.</summary>
    public bool IsClusterMode => RedisConnection is not null;
}
