using System.ComponentModel;
using Spectre.Console.Cli;

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
}

/// <summary>Options of the commands about one experiment on a running silo (`status`, `watch`, `cancel`).</summary>
public class ExperimentSettings : GatewaySettings
{
    [CommandArgument(0, "<id>")]
    [Description("Experiment id, as printed by `tessera submit`.")]
    public string Id { get; set; } = "";
}
