using Tessera.Trainers.Data;
using Tessera.Trainers.Generators;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers.PostTraining;

/// <summary>
/// <see cref="Ddo.Loss"/> over real token batches against fakes the reference samples as training runs, one per real
/// sequence and of its class (so both terms see the same class mix), with <paramref name="sampling"/> and
/// <paramref name="generator"/>. Self-play rounds: <see cref="PostTrainer.ResetReference"/> between rounds.
/// </summary>
public sealed class DdoObjective(ITokenBatchSource source, PostTrainingConfig config, SamplingOptions sampling, Generator generator)
    : IPostTrainingObjective
{
    public string Name => PostTrainingConfig.ObjectiveDdo;

    /// <summary>The real sequences and as many fakes.</summary>
    public int ImagesPerStep(int batchSize) => 2 * batchSize;

    public ObjectiveResult NextLoss(TokenGenerator policy, FrozenReference reference, int batchSize)
    {
        var batch = source.Next(batchSize);
        var (classes_B, real_BL) = TokenBatchTensors.From(batch, policy.Config, policy.Device);
        var fake_BL = reference.Model.Generate(batch.Labels, sampling, generator);
        var lp = PairedLogProbs.Score(policy, reference, (classes_B, real_BL), (classes_B, fake_BL));
        return Ddo.Loss(lp.First_B, lp.FirstRef_B, lp.Second_B, lp.SecondRef_B, config.Beta, config.Alpha);
    }
}
