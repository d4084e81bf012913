namespace Tessera.Trainers;

/// <summary>The training loss or gradient became NaN or infinite; training stopped at <see cref="Step"/>.</summary>
public sealed class TrainingDivergedException : Exception
{
    /// <param name="parameter">The first parameter whose gradient was not finite, or null when every gradient was.</param>
    public TrainingDivergedException(string stage, int step, double loss, string? parameter, string hint)
        : base($"{stage} training diverged at step {step}: loss {loss}, " +
               (parameter is null ? "every gradient finite" : $"first non-finite gradient in '{parameter}'") + $". {hint}")
    {
        Stage = stage;
        Step = step;
        Loss = loss;
        Parameter = parameter;
    }

    public string Stage { get; }
    /// <summary>1-based step whose loss or gradient was not finite.</summary>
    public int Step { get; }
    public double Loss { get; }
    /// <summary>The first parameter (in module order) with a non-finite gradient, if any.</summary>
    public string? Parameter { get; }
}
