using Tessera.Trainers.Data;
using Tessera.Trainers.Distributed;
using Tessera.Trainers.Generators;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers.PostTraining;

/// <summary>
/// <see cref="Ddo.Loss"/> over real token batches against fakes the reference samples as training runs, one per real
/// sequence and of its class (so both terms see the same class mix), with <paramref name="sampling"/> and
/// <paramref name="generator"/>. A <see cref="PostTrainingConfig.NullRatio"/> share of rows is drawn under the null class
/// for both the real sequence and its fake (an unconditional fake), so the unconditional model that guidance subtracts
/// is trained alongside the conditional one instead of drifting with the shared weights; pretraining keeps it by the same
/// class dropout. Self-play rounds: <see cref="PostTrainer.ResetReference"/> between rounds.
/// </summary>
public sealed class DdoObjective(ITokenBatchSource source, PostTrainingConfig config, SamplingOptions sampling, Generator generator)
    : IPostTrainingObjective
{
    public string Name => PostTrainingConfig.ObjectiveDdo;

    /// <summary>The real sequences and as many fakes.</summary>
    public int ImagesPerStep(int batchSize) => 2 * batchSize;

    /// <summary>
    /// With <paramref name="parallel"/>, every rank draws the same global batch of real digits and takes its own rows;
    /// its null draws and fakes come from its own <c>generator</c> (seeded per rank), so the ranks' fakes differ.
    /// </summary>
    public ObjectiveResult NextLoss(TokenGenerator policy, FrozenReference reference, int batchSize, DataParallel? parallel = null)
    {
        var batch = source.Next(batchSize);
        if (parallel is not null) batch = PreferencePairs.Rows(batch, GradientAccumulation.GlobalRows(parallel, batchSize));
        var (labels_B, real_BL) = TokenBatchTensors.From(batch, policy.Config, policy.Device);
        var classes_B = WithNullRows(labels_B, policy.NullClass, config.NullRatio, generator);
        var fake_BL = reference.Model.Generate(classes_B.data<long>().Select(c => (int)c).ToArray(), sampling, generator);
        var lp = PairedLogProbs.Score(policy, reference, (classes_B, real_BL), (classes_B, fake_BL));
        var result = Ddo.Loss(lp.First_B, lp.FirstRef_B, lp.Second_B, lp.SecondRef_B, config.Beta, config.Alpha);
        return result with
        {
            Metrics = new Dictionary<string, double>(result.Metrics) { ["null_fraction"] = ObjectiveResult.Fraction(classes_B.eq(policy.NullClass)) },
        };
    }

    /// <summary><paramref name="classes_B"/> with each row independently replaced by <paramref name="nullClass"/> with probability <paramref name="nullRatio"/>.</summary>
    public static Tensor WithNullRows(Tensor classes_B, int nullClass, double nullRatio, Generator generator)
    {
        if (!(nullRatio >= 0 && nullRatio <= 1)) throw new ArgumentOutOfRangeException(nameof(nullRatio), nullRatio, "must be in [0, 1]");
        var toNull_B = rand(classes_B.shape, generator: generator, dtype: float64).to(classes_B.device).lt(nullRatio);
        return classes_B.masked_fill(toNull_B, nullClass);
    }
}
