using Tessera.Trainers.Data;
using Tessera.Trainers.Distributed;
using Tessera.Trainers.Generators;
using static TorchSharp.torch;

namespace Tessera.Trainers.PostTraining;

/// <summary>
/// <see cref="Cca.Loss"/> over real token batches: each image scored under its class and under the shifted class
/// (<see cref="Cca.BuildPairs"/>, null draws from <paramref name="generator"/>), by policy and reference. With
/// <paramref name="cache"/> (and a <see cref="ITrackedTokenBatchSource"/>), the reference's numbers come from it and
/// only the missing ones are computed.
/// </summary>
public sealed class CcaObjective(ITokenBatchSource source, PostTrainingConfig config, Generator generator, ReferenceScoreCache? cache = null)
    : IPostTrainingObjective
{
    public string Name => PostTrainingConfig.ObjectiveCca;

    public int ImagesPerStep(int batchSize) => batchSize;

    /// <summary>
    /// Every rank draws the same global batch and the same pairs (the shifted class is the global batch neighbour's, and
    /// the null draws consume <paramref name="generator"/> alike), then scores only its own rows.
    /// </summary>
    public ObjectiveResult NextLoss(TokenGenerator policy, FrozenReference reference, int batchSize, DataParallel? parallel = null)
    {
        SampleId[]? ids = null;
        var batch = cache is null ? source.Next(batchSize) : Tracked(batchSize, out ids);
        var (classes_B, tokens_BL) = TokenBatchTensors.From(batch, policy.Config, policy.Device);
        var pairs = Cca.BuildPairs(classes_B, policy.NullClass, config.NullRatio, config.Lambda, generator);
        int[] rows = GradientAccumulation.GlobalRows(parallel, batchSize);
        var mine = tensor(rows.Select(r => (long)r).ToArray()).to(policy.Device);
        Tensor Rows(Tensor t) => t.index_select(0, mine);
        var tokens_RL = Rows(tokens_BL);
        Func<Tensor, Tensor, Tensor>? referenceScores = null;
        if (cache is not null)
        {
            SampleId[] twice = [.. rows.Select(r => ids![r]), .. rows.Select(r => ids![r])];
            referenceScores = (conditions_N, tokens_NL) => cache.SequenceLogProbs(reference, twice, conditions_N, tokens_NL);
        }
        // Positive and negative conditions over the same tokens in one pass, as the source does.
        var lp = PairedLogProbs.Score(policy, reference, (Rows(pairs.Classes_B), tokens_RL), (Rows(pairs.NegativeClasses_B), tokens_RL), referenceScores);
        return Cca.Loss(lp.First_B, lp.FirstRef_B, lp.Second_B, lp.SecondRef_B, Rows(pairs.Weights_B), Rows(pairs.Signs_B), config.Beta, config.Lambda);
    }

    Infra.Data.TokenBatch Tracked(int batchSize, out SampleId[] ids)
    {
        if (source is not ITrackedTokenBatchSource tracked)
            throw new InvalidOperationException($"a reference cache needs a source that names each row's sequence; {source.GetType().Name} does not");
        (var batch, ids) = tracked.NextTracked(batchSize);
        return batch;
    }
}
