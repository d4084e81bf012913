using Tessera.Trainers.Distributed;
using Tessera.Trainers.Generators;

namespace Tessera.Trainers.PostTraining;

/// <summary><see cref="Dpo.Loss"/> over the pairs of a <see cref="IPreferenceSource"/>; reference log-probabilities are recomputed each step.</summary>
public sealed class DpoObjective(IPreferenceSource source, double beta) : IPostTrainingObjective
{
    public string Name => PostTrainingConfig.ObjectiveDpo;

    /// <summary>Both sequences of every pair.</summary>
    public int ImagesPerStep(int batchSize) => 2 * batchSize;

    public ObjectiveResult NextLoss(TokenGenerator policy, FrozenReference reference, int batchSize, DataParallel? parallel = null)
    {
        var pairs = source.Next(batchSize);
        if (parallel is not null) pairs = pairs.Select(GradientAccumulation.GlobalRows(parallel, batchSize));
        var (classes_B, chosen_BL) = TokenBatchTensors.From(pairs.Chosen, policy.Config, policy.Device);
        var (_, rejected_BL) = TokenBatchTensors.From(pairs.Rejected, policy.Config, policy.Device);
        var lp = PairedLogProbs.Score(policy, reference, (classes_B, chosen_BL), (classes_B, rejected_BL));
        return Dpo.Loss(lp.First_B, lp.FirstRef_B, lp.Second_B, lp.SecondRef_B, beta);
    }
}
