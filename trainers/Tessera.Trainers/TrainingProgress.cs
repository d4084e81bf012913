namespace Tessera.Trainers;

/// <summary>One progress report from a training stage, sent every few steps and on the last step.</summary>
/// <param name="Stage">Which stage is training, e.g. "tokenizer".</param>
/// <param name="Step">Optimizer steps completed so far.</param>
/// <param name="TotalSteps">Steps the stage will run in all.</param>
/// <param name="Loss">Training loss of the latest step.</param>
/// <param name="ImagesPerSecond">Training throughput since the previous report.</param>
/// <param name="Metrics">Stage-specific numbers (learning rate, loss parts, ...), keyed by snake_case name.</param>
public sealed record TrainingProgress(
    string Stage,
    int Step,
    int TotalSteps,
    double Loss,
    double ImagesPerSecond,
    IReadOnlyDictionary<string, double> Metrics);
