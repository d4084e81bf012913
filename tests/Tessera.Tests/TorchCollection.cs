namespace Tessera.Tests;

/// <summary>libtorch state is process-wide: every test that touches TorchSharp joins this serial collection.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchCollection
{
    public const string Name = "torch";
}
