using System.Runtime.InteropServices;

using Tessera.Cli;
using Tessera.Cli.Commands;

namespace Tessera.Bench.Commands;

/// <summary>What a bench report says about the machine it ran on, so figures can be compared across machines.</summary>
public static class BenchMachine
{
    /// <summary>The 1, 5 and 15 minute load averages ("n/a" off Linux): a busy machine explains slow figures.</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    public static int Cores => Environment.ProcessorCount;

    public static long MemoryBytes => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    public static string Os => RuntimeInformation.OSDescription;

    public static string Architecture => RuntimeInformation.OSArchitecture.ToString();

    public static string Dotnet => RuntimeInformation.FrameworkDescription;
}
