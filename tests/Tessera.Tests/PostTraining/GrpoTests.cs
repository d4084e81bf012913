using Tessera.Trainers;
using Tessera.Trainers.PostTraining;
using static Tessera.Tests.PostTraining.CcaTests;
using static TorchSharp.torch;

namespace Tessera.Tests.PostTraining;

/// <summary>GRPO's group advantages and clipped per-token loss against values worked out by hand.</summary>
[Collection(TorchCollection.Name)]
public class GrpoTests
{
    public GrpoTests() => TorchRuntime.Initialize(2);

    [Fact]
    public void AdvantagesUseTheSampleStandardDeviationPerGroup()
    {
        // Group 1 rewards [1, 2, 3]: mean 2, sample std sqrt((1 + 0 + 1) / (3 - 1)) = 1 -> A = [-1, 0, 1] / (1 + 1e-4).
        // (The population std sqrt(2/3) would give +-1.2247 instead.)
        // Group 2 rewards [5, 5, 5]: zero variance -> A = 0 / (0 + 1e-4) = 0, not NaN.
        var advantages = Values(Grpo.GroupAdvantages(T(1, 2, 3, 5, 5, 5), groupSize: 3));
        double unit = 1 / (1 + 1e-4);
        double[] expected = [-unit, 0, unit, 0, 0, 0];
        Assert.Equal(expected.Length, advantages.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], advantages[i], 12);
    }

    [Fact]
    public void AdvantagesAreClippedToFive()
    {
        // One reward 1 among 35 zeros (G = 36): mean 1/36, sample variance ((35/36)^2 + 35 (1/36)^2) / 35 = 1/36,
        // std 1/6. The outlier's A = (35/36) / (1/6 + 1e-4) = 5.830 -> clipped to 5; the others
        // -(1/36) / (1/6 + 1e-4) = -0.16657, inside the clip.
        var rewards = new double[36];
        rewards[7] = 1;
        var advantages = Values(Grpo.GroupAdvantages(T(rewards), groupSize: 36));
        Assert.Equal(5.0, advantages[7], 12);
        Assert.Equal(-(1.0 / 36) / (1.0 / 6 + 1e-4), advantages[0], 12);
        Assert.Equal(-0.16657, advantages[0], 5);
    }

    [Fact]
    public void GroupsMustHoldAtLeastTwoAndDivideTheBatch()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Grpo.GroupAdvantages(T(1, 2), groupSize: 1));
        var error = Assert.Throws<ArgumentException>(() => Grpo.GroupAdvantages(T(1, 2, 3), groupSize: 2));
        Assert.Contains("groups of 2", error.Message);
    }

    /// <summary>Two sequences of two tokens, A = [1, -1], eps 0.2; ratios [[1.5, 1], [0.5, 1.1]].</summary>
    private static (Tensor LpNew, Tensor LpOld, Tensor Advantages) ClippedCase()
    {
        var lpOld = T(-1, -2, -3, -4).reshape(2, 2);
        var lpNew = (lpOld + T(Math.Log(1.5), 0, Math.Log(0.5), Math.Log(1.1)).reshape(2, 2)).detach().requires_grad_(true);
        return (lpNew, lpOld, T(1, -1));
    }

    [Fact]
    public void ClippedLossMatchesTheHandComputedValueAndGradient()
    {
        // Sequence 0, A = 1: max(-1.5, -1.2) = -1.2 (clipped); max(-1, -1) = -1. Mean -1.1.
        // Sequence 1, A = -1: max(0.5, 0.8) = 0.8 (clipped); max(1.1, 1.1) = 1.1. Mean 0.95.
        // L = (-1.1 + 0.95) / 2 = -0.075.
        var (lpNew, lpOld, advantages) = ClippedCase();
        var result = Grpo.Loss(lpNew, lpOld, advantages, clipEpsilon: 0.2);
        Assert.Equal(-0.075, result.Loss.item<double>(), 12);
        // Mean ratio (1.5 + 1 + 0.5 + 1.1) / 4 = 1.025; the clip is active on 2 of 4 tokens; no KL asked for.
        Assert.Equal(1.025, result.Metrics["ratio"], 12);
        Assert.Equal(0.5, result.Metrics["clip_fraction"], 12);
        Assert.Equal(0, result.Metrics["kl"], 12);

        // Clipped tokens pass no gradient. Elsewhere d(-A * ratio)/d lp_new = -A * ratio, over L * B = 4:
        // token (0, 1): -1 * 1 / 4 = -0.25; token (1, 1): 1 * 1.1 / 4 = 0.275.
        result.Loss.backward();
        var grad = Values(lpNew.grad!);
        Assert.Equal(0, grad[0], 12);
        Assert.Equal(-0.25, grad[1], 12);
        Assert.Equal(0, grad[2], 12);
        Assert.Equal(0.275, grad[3], 12);
    }

    [Fact]
    public void KlTermAddsTheK3EstimatorPerToken()
    {
        // ref - cur = [[0, ln2], [0, 0]]: only token (0, 1) has KL, exp(ln2) - ln2 - 1 = 1 - ln2 = 0.30685.
        // With k = 0.5 it adds 0.5 * 0.30685 / (2 tokens * 2 sequences) = (1 - ln2) / 8 to -0.075: -0.036643.
        var (lpNew, lpOld, advantages) = ClippedCase();
        var lpRef = (lpNew.detach() + T(0, Math.Log(2), 0, 0).reshape(2, 2));
        var result = Grpo.Loss(lpNew, lpOld, advantages, 0.2, lpRef, klCoefficient: 0.5);
        double expected = -0.075 + (1 - Math.Log(2)) / 8;
        Assert.Equal(-0.036643, expected, 6);
        Assert.Equal(expected, result.Loss.item<double>(), 12);
        Assert.Equal((1 - Math.Log(2)) / 4, result.Metrics["kl"], 12);
    }

    [Fact]
    public void OnPolicyGradientIsMinusTheAdvantagePerToken()
    {
        // One update per sample: lp_old = lp_new, every ratio 1, nothing clipped, dL/dlp_new = -A / (L * B):
        // A = [2, -0.5], L = 2, B = 2 -> [[-0.5, -0.5], [0.125, 0.125]]; the loss itself is -mean(A) = -0.75.
        var lpNew = T(-1, -2, -3, -4).reshape(2, 2).requires_grad_(true);
        var result = Grpo.Loss(lpNew, lpNew.detach(), T(2, -0.5));
        Assert.Equal(-0.75, result.Loss.item<double>(), 12);
        result.Loss.backward();
        Assert.Equal(new[] { -0.5, -0.5, 0.125, 0.125 }, Values(lpNew.grad!));
    }
}
