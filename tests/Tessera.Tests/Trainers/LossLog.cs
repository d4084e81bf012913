using Tessera.Trainers;

namespace Tessera.Tests.Trainers;

/// <summary>The loss of every progress report, in order, heard on the reporting thread (no sync context hop).</summary>
public sealed class LossLog : IProgress<TrainingProgress>
{
    public List<double> Losses { get; } = [];
    public void Report(TrainingProgress value) => Losses.Add(value.Loss);

    /// <summary>Whether the mean of the last three reports is below that of the first three.</summary>
    public bool Fell => Losses.Count >= 6 && Losses.TakeLast(3).Average() < Losses.Take(3).Average();

    public override string ToString() => string.Join(", ", Losses.Select(l => l.ToString("F4")));
}
