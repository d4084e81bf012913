using Tessera.Trainers.Distributed;
using Tessera.Trainers.Generators;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers.PostTraining;

/// <summary>
/// <see cref="Grpo.Loss"/> on the policy's own samples: each step draws <c>batchSize</c> classes, samples
/// <c>GroupSize</c> sequences of each from the current policy, scores them with <paramref name="reward"/>
/// ((R) classes, (R, L) tokens -> (R) rewards, e.g. the reference classifier's probability of the class), and
/// normalises the rewards per class group. One update per sample, as trl does by default, so the sampling policy's
/// log-probabilities are the current ones detached and the ratio is 1 with the gradient of the clipped objective.
/// VA-Pi's extra 0.1 x cross-entropy on real tokens is left out: it needs a data source beside the reward.
/// </summary>
public sealed class GrpoObjective(Func<Tensor, Tensor, Tensor> reward, PostTrainingConfig config, SamplingOptions sampling, Generator generator)
    : IPostTrainingObjective
{
    public string Name => PostTrainingConfig.ObjectiveRl;

    /// <summary>A group of samples per class.</summary>
    public int ImagesPerStep(int batchSize) => batchSize * config.GroupSize;

    /// <summary>With <paramref name="parallel"/>, this rank's share of the groups, from its own <c>generator</c> (seeded per rank).</summary>
    public ObjectiveResult NextLoss(TokenGenerator policy, FrozenReference reference, int batchSize, DataParallel? parallel = null)
    {
        int groups = config.GroupSize;
        int mine = parallel?.RowsPerStep(batchSize) ?? batchSize;
        var classes_B = randint(0, policy.Config.Classes, new long[] { mine }, generator: generator);
        var classes_R = classes_B.repeat_interleave(groups).to(policy.Device); // R = B * G, a class's group side by side
        var tokens_RL = policy.Generate(classes_R.cpu().data<long>().Select(c => (int)c).ToArray(), sampling, generator);
        Tensor rewards_R;
        using (no_grad()) rewards_R = reward(classes_R, tokens_RL);
        var advantages_R = Grpo.GroupAdvantages(rewards_R, groups, config.AdvantageClip);
        var lpNew_RL = policy.TokenLogProbs(classes_R, tokens_RL);
        // Scored even when the KL term is off (coefficient 0): the KL to the reference is always reported.
        var lpRef_RL = reference.TokenLogProbs(classes_R, tokens_RL);
        var result = Grpo.Loss(lpNew_RL, lpNew_RL.detach(), advantages_R, config.ClipEpsilon, lpRef_RL, config.KlCoefficient);
        return result with { Metrics = new Dictionary<string, double>(result.Metrics) { ["reward"] = ObjectiveResult.Mean(rewards_R) } };
    }
}
