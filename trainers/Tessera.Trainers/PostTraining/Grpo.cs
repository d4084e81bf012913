using static TorchSharp.torch;

namespace Tessera.Trainers.PostTraining;

/// <summary>
/// GRPO-style RL alignment (DeepSeekMath, arXiv 2402.03300; huggingface/trl <c>trl/trainer/grpo_trainer.py</c>;
/// Lil-Shake/VA-Pi <c>train_c2i_grpo.py</c> for class-to-image): rewards normalised within each group of sequences
/// sampled for one class replace a learned value baseline, and a PPO-clipped ratio keeps each update near the policy
/// that sampled them.
/// </summary>
public static class Grpo
{
    /// <summary>Added to the group's standard deviation so a group of equal rewards gives advantage 0, not 0/0 (trl's 1e-4).</summary>
    public const double StdEpsilon = 1e-4;

    /// <summary>
    /// <c>A = clip((r - mean_group) / (std_group + 1e-4), -clip, +clip)</c> for rewards (B) laid out as B/G consecutive
    /// groups of <paramref name="groupSize"/> (the G samples of one class side by side). The standard deviation is the
    /// sample one (divides by G-1, Bessel's correction), as trl computes it with <c>torch.std</c>'s default; hence
    /// G must be at least 2. Returns (B), float64.
    /// </summary>
    public static Tensor GroupAdvantages(Tensor rewards_B, int groupSize, double clip = 5.0)
    {
        Shapes.RequireSame(1, ("rewards", rewards_B));
        if (groupSize < 2) throw new ArgumentOutOfRangeException(nameof(groupSize), groupSize, "a group needs at least 2 samples for its standard deviation");
        if (rewards_B.shape[0] % groupSize != 0)
            throw new ArgumentException($"{rewards_B.shape[0]} rewards do not split into groups of {groupSize}", nameof(rewards_B));
        Shapes.RequirePositive(clip, nameof(clip));
        var rewards_NG = rewards_B.to(float64).reshape(-1, groupSize);
        var mean_N1 = rewards_NG.mean(new long[] { 1 }, keepdim: true);
        var std_N1 = rewards_NG.std(1, unbiased: true, keepdim: true);
        return ((rewards_NG - mean_N1) / (std_N1 + StdEpsilon)).clamp(-clip, clip).reshape(-1);
    }

    /// <summary>
    /// Per token <c>ratio = exp(lp_new - lp_old)</c> and <c>max(-A*ratio, -A*clip(ratio, 1-eps, 1+eps))</c>, plus,
    /// when <paramref name="lpRef_BL"/> is given, <c>k * (exp(ref - cur) - (ref - cur) - 1)</c> (the k3 estimator of
    /// KL(policy || reference), always &gt;= 0); averaged over tokens, then over the batch (trl's per-sequence mean).
    /// <paramref name="lpNew_BL"/> carries the gradient; <paramref name="lpOld_BL"/> (the sampling policy's) and the
    /// reference's are constants. Advantages (B). Metrics: mean ratio, fraction of tokens where the clip is active,
    /// mean KL and mean advantage.
    /// </summary>
    public static ObjectiveResult Loss(Tensor lpNew_BL, Tensor lpOld_BL, Tensor advantages_B, double clipEpsilon = 0.2,
        Tensor? lpRef_BL = null, double klCoefficient = 0.0)
    {
        Shapes.RequireSame(2, ("lp_new", lpNew_BL), ("lp_old", lpOld_BL));
        if (lpRef_BL is not null) Shapes.RequireSame(2, ("lp_new", lpNew_BL), ("lp_ref", lpRef_BL));
        Shapes.RequireSame(1, ("advantages", advantages_B));
        if (advantages_B.shape[0] != lpNew_BL.shape[0])
            throw new ArgumentException($"{advantages_B.shape[0]} advantages for {lpNew_BL.shape[0]} sequences");
        if (!(clipEpsilon > 0 && clipEpsilon < 1)) throw new ArgumentOutOfRangeException(nameof(clipEpsilon), clipEpsilon, "must be in (0, 1)");
        if (!(klCoefficient >= 0)) throw new ArgumentOutOfRangeException(nameof(klCoefficient), klCoefficient, "must be >= 0");

        var advantage_B1 = advantages_B.to(lpNew_BL.dtype).unsqueeze(1);
        var ratio_BL = (lpNew_BL - lpOld_BL.detach()).exp();
        var unclipped_BL = -advantage_B1 * ratio_BL;
        var clipped_BL = -advantage_B1 * ratio_BL.clamp(1 - clipEpsilon, 1 + clipEpsilon);
        var perToken_BL = maximum(unclipped_BL, clipped_BL);
        var kl_BL = zeros_like(perToken_BL);
        if (lpRef_BL is not null)
        {
            var logRatio_BL = lpRef_BL.detach() - lpNew_BL;
            kl_BL = logRatio_BL.exp() - logRatio_BL - 1;
            perToken_BL = perToken_BL + klCoefficient * kl_BL;
        }
        var loss = perToken_BL.mean(new long[] { 1 }).mean();
        return new ObjectiveResult(loss, new Dictionary<string, double>
        {
            ["ratio"] = ObjectiveResult.Mean(ratio_BL),
            ["clip_fraction"] = ObjectiveResult.Fraction(clipped_BL.gt(unclipped_BL)),
            ["kl"] = ObjectiveResult.Mean(kl_BL),
            ["advantage"] = ObjectiveResult.Mean(advantages_B),
        });
    }
}
