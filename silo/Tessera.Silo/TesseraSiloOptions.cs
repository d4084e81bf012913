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

    public const string ServiceId = "tessera";
    public const string ClusterId = "tessera-local";
}
