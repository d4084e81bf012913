using Orleans.TestingHost;
using Tessera.Silo;

namespace Tessera.Tests.Cluster;

/// <summary>An in-process Orleans cluster with the Tessera services over a fresh artifact folder, and its teardown.</summary>
public static class TestSilos
{
    public static async Task<InProcessTestCluster> StartAsync(string runs, int silos, int torchThreads)
    {
        var builder = new InProcessTestClusterBuilder((short)silos);
        builder.ConfigureSilo((_, silo) => silo.AddTesseraServices(new TesseraSiloOptions { ArtifactRoot = runs, TorchThreads = torchThreads }));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    public static async Task StopAsync(InProcessTestCluster cluster, string runs)
    {
        await cluster.StopAllSilosAsync();
        await cluster.DisposeAsync();
        if (Directory.Exists(runs)) Directory.Delete(runs, recursive: true);
    }
}
