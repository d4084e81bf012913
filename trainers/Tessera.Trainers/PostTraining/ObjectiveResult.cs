using static TorchSharp.torch;

namespace Tessera.Trainers.PostTraining;

/// <summary>
/// What one post-training objective returns for a batch: the scalar loss to back-propagate (it lives in the
/// caller's dispose scope) and the numbers a progress report or stage report shows, keyed by snake_case name.
/// </summary>
public sealed record ObjectiveResult(Tensor Loss, IReadOnlyDictionary<string, double> Metrics)
{
    /// <summary>The mean of a tensor as a double, for <see cref="Metrics"/>.</summary>
    internal static double Mean(Tensor values) => values.detach().to(float64).mean().item<double>();

    /// <summary>The fraction of true entries of a boolean tensor, for <see cref="Metrics"/>.</summary>
    internal static double Fraction(Tensor mask) => Mean(mask.to(float64));
}
