using System.Reflection;
using System.Text.RegularExpressions;
using TorchSharp;

namespace Tessera.Cli;

/// <summary>
/// What `tessera version` reports: this build (version and git commit), the runtime and libraries it runs on, and
/// the torch it trains with: the libtorch build it ships (cpu or cuda, chosen at build time) and whether that libtorch
/// sees a GPU here. A bug report carries this, so it says "unknown" rather than failing.
/// </summary>
public sealed partial record VersionReport(
    string Tessera, string? Commit, string Dotnet, string Orleans, string Torchsharp, string Libtorch, string TorchBackend,
    bool? GpuVisible, int GpuCount, string? GpuProblem)
{
    public static VersionReport Collect()
    {
        var tessera = typeof(VersionReport).Assembly;
        string[] build = Informational(tessera).Split('+', 2);
        var (visible, count, problem) = Gpu();
        return new(build[0], build.Length > 1 ? build[1] : null, Environment.Version.ToString(), VersionOf(typeof(IGrain).Assembly),
            VersionOf(typeof(torch).Assembly), torch.__version__, Metadata(tessera, "TorchBackend") ?? "unknown", visible, count, problem);
    }

    /// <summary>The package version alone: builds append "+commit" (the SDK) or ". Commit Hash: ..." (Orleans).</summary>
    static string VersionOf(Assembly assembly) => LeadingVersion().Match(Informational(assembly)) is { Success: true } m ? m.Value : Informational(assembly);

    [GeneratedRegex(@"^[0-9]+(\.[0-9]+)*(-[0-9A-Za-z.]*[0-9A-Za-z])?")]
    private static partial Regex LeadingVersion();

    static string Informational(Assembly assembly) =>
        assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? assembly.GetName().Version?.ToString() ?? "unknown";

    static string? Metadata(Assembly assembly, string key) =>
        assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value;

    /// <summary>Asks libtorch (which loads it); a libtorch that cannot load leaves the answer unknown, with its reason.</summary>
    static (bool? Visible, int Count, string? Problem) Gpu()
    {
        try
        {
            bool visible = torch.cuda.is_available();
            return (visible, visible ? torch.cuda.device_count() : 0, null);
        }
        catch (Exception e) when (e is NotSupportedException or DllNotFoundException or TypeInitializationException or EntryPointNotFoundException)
        {
            return (null, 0, e.Message);
        }
    }
}
