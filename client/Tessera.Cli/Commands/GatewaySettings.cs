using System.ComponentModel;
using Spectre.Console.Cli;
using Tessera.Silo.Security;

namespace Tessera.Cli.Commands;

/// <summary>Options of the commands that talk to a running silo.</summary>
public class GatewaySettings : CommandSettings
{
    [CommandOption("--gateway <ENDPOINTS>")]
    [Description("Gateway of a silo: PORT on localhost, or HOST:PORT, comma-separated for several (default 30000, as `tessera silo` uses).")]
    public string? Gateway { get; set; }

    [CommandOption("--redis <CONNECTION>")]
    [Description("Find the gateways of a cluster through its Redis (env TESSERA_REDIS; --gateway wins when given).")]
    public string? Redis { get; set; }

    [CommandOption("--cluster-id <ID>")]
    [Description("Cluster of those silos (default tessera-local; env TESSERA_CLUSTER_ID).")]
    public string? ClusterId { get; set; }

    [CommandOption("--runs <DIR>")]
    [Description("Directory for this command's log file (default ./runs).")]
    [DefaultValue("runs")]
    public string Runs { get; set; } = "runs";

    [CommandOption("--token <TOKEN>")]
    [Description("Cluster token of a silo that requires one (default: the TESSERA_TOKEN environment variable).")]
    public string? Token { get; set; }

    [CommandOption("--tls-cert <FILE>")]
    [Description("Connect over TLS, trusting exactly this certificate of the silo (PEM or DER).")]
    public string? TlsCertificate { get; set; }

    /// <summary>The token to present: --token, else TESSERA_TOKEN (its first, while two are being rotated), else none.</summary>
    public string? ClusterToken => ClusterTokens.FromOptionOrEnvironment(Token).Primary;
}

/// <summary>Options of the commands about one experiment (`status`, `watch`, `cancel`, `resume`).</summary>
public class ExperimentSettings : GatewaySettings
{
    [CommandArgument(0, "<id>")]
    [Description("Experiment id, as printed by `tessera submit`.")]
    public string Id { get; set; } = "";
}
