namespace Tessera.Grains;

/// <summary>Names of the grain storage providers a silo must configure.</summary>
public static class GrainStorage
{
    public const string Experiments = "experiments";
}
