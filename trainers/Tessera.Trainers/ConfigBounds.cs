namespace Tessera.Trainers;

/// <summary>
/// Upper bounds for config values, as the spec schema's: a config read from a checkpoint must not make a trainer
/// allocate more than a spec could ask for.
/// </summary>
internal static class ConfigBounds
{
    /// <summary>Throws for the first value above its maximum, naming it.</summary>
    public static void AtMost(params (long Value, long Max, string Name)[] bounds)
    {
        foreach (var (value, max, name) in bounds)
            if (value > max) throw new ArgumentOutOfRangeException(name, value, $"{name} must be at most {max}");
    }
}
