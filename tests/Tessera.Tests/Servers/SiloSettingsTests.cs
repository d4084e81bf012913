using Tessera.Cli.Commands;

namespace Tessera.Tests.Servers;

/// <summary>`tessera silo`'s settings: flags over environment over defaults, and a bad value named with what is wrong.</summary>
public class SiloSettingsTests
{
    [Fact]
    public void TorchThreadsComesFromTheFlagAndDefaultsToOnePerCore()
    {
        Assert.Equal(Environment.ProcessorCount, SiloSettings.Resolve(new SiloCommand.Settings()).TorchThreads);
        Assert.Equal(1, SiloSettings.Resolve(new SiloCommand.Settings { TorchThreads = 1 }).TorchThreads);
    }

    [Fact]
    public void ATorchThreadCountBelowOneIsRefusedByName()
    {
        var error = Assert.Throws<ArgumentException>(() => SiloSettings.Resolve(new SiloCommand.Settings { TorchThreads = 0 }));
        Assert.Contains("torch_threads: '0'", error.Message);
    }
}
