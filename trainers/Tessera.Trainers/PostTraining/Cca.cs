using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers.PostTraining;

/// <summary>
/// Condition Contrastive Alignment (arXiv 2410.09347; thu-ml/CCA <c>VAR_CCA_trainer.py</c>, loss_type "CCA"): the
/// model learns to prefer an image under its own class over the same image under another batch member's class,
/// relative to a frozen reference, so that guidance-free sampling behaves like guided sampling.
/// </summary>
public static class Cca
{
    /// <summary>
    /// The classes of one CCA batch (all (B)): <see cref="Classes_B"/> for the positive term, <see cref="NegativeClasses_B"/>
    /// for the contrast term, its per-pair <see cref="Weights_B"/> (1 or lambda) and <see cref="Signs_B"/> (+1 for pairs
    /// treated as positive, -1 for true negatives).
    /// </summary>
    public sealed record Pairs(Tensor Classes_B, Tensor NegativeClasses_B, Tensor Weights_B, Tensor Signs_B);

    /// <summary>
    /// Negatives by shifting the condition one place in the batch, <c>c_neg = roll(c, -1)</c> (the source prefers the
    /// roll to a random permutation, which can pick the own class too often in small batches). With probability
    /// <paramref name="nullRatio"/> per row both classes become <paramref name="nullClass"/>, which keeps an
    /// unconditional model for guidance; such rows and any row with <c>c_neg == c</c> are treated as positive with weight
    /// 1, every other row is a true negative with weight <paramref name="lambda"/>. The null draw uses <paramref name="generator"/>.
    /// </summary>
    public static Pairs BuildPairs(Tensor classes_B, int nullClass, double nullRatio, double lambda, Generator generator)
    {
        Shapes.RequireSame(1, ("classes", classes_B));
        if (!(nullRatio >= 0 && nullRatio <= 1)) throw new ArgumentOutOfRangeException(nameof(nullRatio), nullRatio, "must be in [0, 1]");
        Shapes.RequirePositive(lambda, nameof(lambda));
        var negative_B = classes_B.roll(-1, 0);
        var toNull_B = rand(classes_B.shape, generator: generator, dtype: float64).to(classes_B.device).lt(nullRatio);
        var positive_B = classes_B.masked_fill(toNull_B, nullClass);
        negative_B = negative_B.masked_fill(toNull_B, nullClass);
        var treatedPositive_B = toNull_B.logical_or(negative_B.eq(positive_B));
        var weights_B = full(classes_B.shape, lambda, dtype: float64, device: classes_B.device).masked_fill(treatedPositive_B, 1.0);
        var signs_B = treatedPositive_B.to(float64) * 2 - 1;
        return new Pairs(positive_B, negative_B, weights_B, signs_B);
    }

    /// <summary>
    /// <c>L = [-mean logsig(beta*gap) - mean(w * logsig(s*beta*ngap))] / max(lambda, 1)</c> with
    /// <c>gap = lp - lp_ref</c> (image under its class) and <c>ngap = lp_neg - lp_ref_neg</c> (same image under the
    /// negative class); the division keeps the gradient scale independent of lambda (the source's "stabilize training").
    /// All inputs (B); log-probabilities are per sequence. Metrics as the source logs them: chosen/rejected reward
    /// (mean gap, ngap), reward margin and accuracy (gap &gt; ngap).
    /// </summary>
    public static ObjectiveResult Loss(Tensor lp_B, Tensor lpRef_B, Tensor lpNeg_B, Tensor lpRefNeg_B,
        Tensor weights_B, Tensor signs_B, double beta, double lambda)
    {
        Shapes.RequireSame(1, ("lp", lp_B), ("lp_ref", lpRef_B), ("lp_neg", lpNeg_B), ("lp_ref_neg", lpRefNeg_B),
            ("weights", weights_B), ("signs", signs_B));
        Shapes.RequirePositive(beta, nameof(beta));
        Shapes.RequirePositive(lambda, nameof(lambda));
        var gap_B = lp_B - lpRef_B;
        var negativeGap_B = lpNeg_B - lpRefNeg_B;
        var positiveTerm = -nn.functional.logsigmoid(gap_B * beta).mean();
        var contrastTerm = -(weights_B.to(gap_B.dtype) * nn.functional.logsigmoid(signs_B.to(gap_B.dtype) * negativeGap_B * beta)).mean();
        var loss = (positiveTerm + contrastTerm) / Math.Max(lambda, 1.0);
        return new ObjectiveResult(loss, new Dictionary<string, double>
        {
            ["chosen_reward"] = ObjectiveResult.Mean(gap_B),
            ["rejected_reward"] = ObjectiveResult.Mean(negativeGap_B),
            ["reward_margin"] = ObjectiveResult.Mean(gap_B - negativeGap_B),
            ["reward_accuracy"] = ObjectiveResult.Fraction(gap_B.gt(negativeGap_B)),
        });
    }
}
