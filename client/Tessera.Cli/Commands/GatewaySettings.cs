using System.ComponentModel;
using Spectre.Console.Cli;
using Tessera.Silo.Security;

namespace Tessera.Cli.Commands;

/// <summary>Options of the commands that talk to a running silo.</summary>
public class GatewaySettings : CommandSettings
{
    [CommandOption("--gateway <PORT>")]
    [Description("Gateway port of the silo (default 30000, as `tessera silo` uses).")]
    [DefaultValue(30000)]
    public int Gateway { get; set; } = 30000;

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
