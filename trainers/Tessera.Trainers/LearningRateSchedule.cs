namespace Tessera.Trainers;

/// <summary>The learning-rate schedule every trainer uses: linear warm-up, then cosine decay to a floor.</summary>
public static class LearningRateSchedule
{
    /// <summary>
    /// The rate at 0-based <paramref name="step"/>: rises linearly over <paramref name="warmupSteps"/>, then follows a
    /// half cosine from <paramref name="peak"/> down to <paramref name="floorFraction"/> × peak at <paramref name="steps"/>.
    /// </summary>
    public static double WarmupCosine(int step, int steps, int warmupSteps, double peak, double floorFraction)
    {
        if (step < warmupSteps) return peak * (step + 1) / warmupSteps;
        double t = Math.Min(1.0, (step - warmupSteps) / (double)Math.Max(1, steps - warmupSteps));
        return peak * (floorFraction + (1 - floorFraction) * 0.5 * (1 + Math.Cos(Math.PI * t)));
    }
}
