namespace Tessera.Trainers;

/// <summary>The training loss became NaN or infinite; training stopped at <see cref="Step"/>.</summary>
public sealed class TrainingDivergedException : Exception
{
    public TrainingDivergedException(string stage, int step, double loss, string hint)
        : base($"{stage} training diverged: loss became {loss} at step {step}. {hint}")
    {
        Stage = stage;
        Step = step;
        Loss = loss;
    }

    public string Stage { get; }
    /// <summary>1-based step whose loss was not finite.</summary>
    public int Step { get; }
    public double Loss { get; }
}
