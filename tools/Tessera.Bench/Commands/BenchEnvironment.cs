using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

using Tessera.Cli;
using Tessera.Cli.Commands;

namespace Tessera.Bench.Commands;

/// <summary>
/// What every `tessera-bench` JSON report carries so two results can be compared: the machine (cores, memory, OS,
/// load), the runtime and library versions, then the bench's own settings and results.
/// </summary>
public static class BenchEnvironment
{
    /// <summary>Indented camelCase, NaN written as "NaN" instead of failing; the child runs of `bench step` read it back.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The 1, 5 and 15 minute load averages; a busy machine makes every timing here slower.</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    public static string VersionOf(Assembly assembly) =>
        assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? assembly.GetName().Version?.ToString() ?? "?";

    /// <summary>TorchSharp and the libtorch it runs, for the benches that train or sample.</summary>
    public static Dictionary<string, string> TorchLibraries() => new()
    {
        ["TorchSharp"] = VersionOf(typeof(TorchSharp.torch).Assembly),
        ["libtorch"] = TorchSharp.torch.__version__,
    };

    /// <summary>The machine block: cores, memory, OS, .NET, load before and now, and <paramref name="libraries"/>.</summary>
    public static object Machine(string loadBefore, IReadOnlyDictionary<string, string> libraries) => new
    {
        cores = Environment.ProcessorCount,
        memoryBytes = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
        os = RuntimeInformation.OSDescription,
        architecture = RuntimeInformation.OSArchitecture.ToString(),
        dotnet = RuntimeInformation.FrameworkDescription,
        loadAverageBefore = loadBefore,
        loadAverageAfter = LoadAverage(),
        libraries = new Dictionary<string, string>(libraries) { ["Tessera"] = VersionOf(typeof(BenchEnvironment).Assembly) },
    };

    /// <summary>Writes <c>{ bench, machine, settings, results, utc }</c> to <paramref name="path"/> and says so.</summary>
    public static async Task WriteReportAsync(string path, string bench, object machine, object settings, object results, CancellationToken ct)
    {
        var report = new { bench, machine, settings, results, utc = DateTime.UtcNow };
        await File.WriteAllTextAsync(path, JsonSerializer.Serialize(report, Json), ct);
        AnsiConsole.MarkupLineInterpolated($"wrote {path}");
    }

    /// <summary>
    /// Runs this program again with <paramref name="arguments"/> and waits for it: the benches whose setting libtorch
    /// takes once per process (its thread count) run each setting in a child. Cancelling kills the child.
    /// </summary>
    public static async Task<int> RunSelfAsync(IEnumerable<string> arguments, CancellationToken ct)
    {
        var start = SelfStartInfo();
        foreach (var arg in arguments) start.ArgumentList.Add(arg);
        using var child = Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName}");
        try
        {
            await child.WaitForExitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            child.Kill(entireProcessTree: true);
            throw;
        }
        return child.ExitCode;
    }

    /// <summary>This program again: its apphost when there is one beside the assembly, else `dotnet tessera.dll` (as under a test host).</summary>
    private static ProcessStartInfo SelfStartInfo()
    {
        string assembly = typeof(BenchEnvironment).Assembly.Location;
        string apphost = Path.ChangeExtension(assembly, OperatingSystem.IsWindows() ? ".exe" : null);
        if (File.Exists(apphost)) return new ProcessStartInfo(apphost) { UseShellExecute = false };
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet") { UseShellExecute = false };
        start.ArgumentList.Add(assembly);
        return start;
    }

    /// <summary>Comma-separated values, e.g. "1,2" or "1,64".</summary>
    public static List<T> ParseList<T>(string list, Func<string, T> parse) =>
        list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(parse).ToList();
}

/// <summary>The options every bench that runs libtorch shares: where, with which seed, and where the JSON report goes.</summary>
public class TorchBenchSettings : CommandSettings
{
    [CommandOption("--device <DEVICE>")]
    [Description("auto, cpu or cuda (default auto).")]
    [DefaultValue("auto")]
    public string Device { get; set; } = "auto";

    [CommandOption("--seed <SEED>")]
    [Description("Seeds the weights and the random data (default 0).")]
    [DefaultValue(0L)]
    public long Seed { get; set; }

    [CommandOption("--json <FILE>")]
    [Description("Also write the results, machine info and settings as JSON.")]
    public string? Json { get; set; }
}

/// <summary>The options of the benches that time training steps: how many, after how many untimed ones.</summary>
public class StepTimingSettings : TorchBenchSettings
{
    [CommandOption("--steps <N>")]
    [Description("Timed steps, at least 10 (default 20).")]
    [DefaultValue(20)]
    public int Steps { get; set; } = 20;

    [CommandOption("--warmup <N>")]
    [Description("Untimed steps first (default 3).")]
    [DefaultValue(3)]
    public int Warmup { get; set; } = 3;
}
