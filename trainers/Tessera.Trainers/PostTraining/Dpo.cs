using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers.PostTraining;

/// <summary>
/// Direct Preference Optimization (arXiv 2305.18290; huggingface/trl <c>trl/trainer/dpo_trainer.py</c>, the
/// "sigmoid" loss): raise the chosen sequence's log-ratio to the reference above the rejected one's.
/// </summary>
public static class Dpo
{
    /// <summary>
    /// <c>L = -mean logsig(beta * [(lp_w - lp_ref_w) - (lp_l - lp_ref_l)])</c>; all inputs per sequence, (B), row i
    /// one (chosen, rejected) pair. Metrics as trl logs them: chosen/rejected rewards <c>beta * (lp - lp_ref)</c>,
    /// their margin and the fraction of pairs where the chosen reward is higher.
    /// </summary>
    public static ObjectiveResult Loss(Tensor lpChosen_B, Tensor lpRefChosen_B, Tensor lpRejected_B, Tensor lpRefRejected_B, double beta)
    {
        Shapes.RequireSame(1, ("lp_chosen", lpChosen_B), ("lp_ref_chosen", lpRefChosen_B), ("lp_rejected", lpRejected_B),
            ("lp_ref_rejected", lpRefRejected_B));
        Shapes.RequirePositive(beta, nameof(beta));
        var chosenReward_B = (lpChosen_B - lpRefChosen_B) * beta;
        var rejectedReward_B = (lpRejected_B - lpRefRejected_B) * beta;
        var loss = -nn.functional.logsigmoid(chosenReward_B - rejectedReward_B).mean();
        return new ObjectiveResult(loss, new Dictionary<string, double>
        {
            ["chosen_reward"] = ObjectiveResult.Mean(chosenReward_B),
            ["rejected_reward"] = ObjectiveResult.Mean(rejectedReward_B),
            ["reward_margin"] = ObjectiveResult.Mean(chosenReward_B - rejectedReward_B),
            ["reward_accuracy"] = ObjectiveResult.Fraction(chosenReward_B.gt(rejectedReward_B)),
        });
    }
}
