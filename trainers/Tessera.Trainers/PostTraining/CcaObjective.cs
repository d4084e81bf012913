using Tessera.Trainers.Data;
using Tessera.Trainers.Generators;
using static TorchSharp.torch;

namespace Tessera.Trainers.PostTraining;

/// <summary>
/// <see cref="Cca.Loss"/> over real token batches: each image scored under its class and under the shifted class
/// (<see cref="Cca.BuildPairs"/>, null draws from <paramref name="generator"/>), by policy and reference.
/// </summary>
public sealed class CcaObjective(ITokenBatchSource source, PostTrainingConfig config, Generator generator) : IPostTrainingObjective
{
    public string Name => PostTrainingConfig.ObjectiveCca;

    public int ImagesPerStep(int batchSize) => batchSize;

    public ObjectiveResult NextLoss(TokenGenerator policy, FrozenReference reference, int batchSize)
    {
        var (classes_B, tokens_BL) = TokenBatchTensors.From(source.Next(batchSize), policy.Config, policy.Device);
        var pairs = Cca.BuildPairs(classes_B, policy.NullClass, config.NullRatio, config.Lambda, generator);
        // Positive and negative conditions over the same tokens in one pass, as the source does.
        var lp = PairedLogProbs.Score(policy, reference, (pairs.Classes_B, tokens_BL), (pairs.NegativeClasses_B, tokens_BL));
        return Cca.Loss(lp.First_B, lp.FirstRef_B, lp.Second_B, lp.SecondRef_B, pairs.Weights_B, pairs.Signs_B, config.Beta, config.Lambda);
    }
}
