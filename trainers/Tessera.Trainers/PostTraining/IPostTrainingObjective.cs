using Tessera.Trainers.Distributed;
using Tessera.Trainers.Generators;

namespace Tessera.Trainers.PostTraining;

/// <summary>
/// One objective fed by its data: draws the next batch, computes policy and reference log-probabilities and returns
/// the loss. <see cref="PostTrainer"/> calls it once per step, inside the step's dispose scope, on the training thread.
/// </summary>
public interface IPostTrainingObjective
{
    /// <summary>The stage name progress reports carry, e.g. "dpo".</summary>
    string Name { get; }

    /// <summary>Images (sequences) one step of <paramref name="batchSize"/> examples trains on, for the throughput report.</summary>
    int ImagesPerStep(int batchSize);

    /// <summary>
    /// The loss of the next <paramref name="batchSize"/> examples (the global batch), a mean over the rows this rank
    /// trains on: all of them without <paramref name="parallel"/>, else its slices
    /// (<see cref="GradientAccumulation.GlobalRows"/>); <paramref name="policy"/> carries the gradient.
    /// </summary>
    ObjectiveResult NextLoss(TokenGenerator policy, FrozenReference reference, int batchSize, DataParallel? parallel = null);
}
