using Tessera.Trainers;
using Tessera.Trainers.PostTraining;
using static Tessera.Tests.PostTraining.CcaTests;

namespace Tessera.Tests.PostTraining;

/// <summary>
/// DPO and DDO against values worked out by hand, with beta 0.5 and log-ratios of 0 or +-2 ln 3, so that every
/// logsig argument is 0 or +-ln 3: logsig(0) = ln(1/2), logsig(ln 3) = ln(3/4), logsig(-ln 3) = ln(1/4).
/// </summary>
[Collection(TorchCollection.Name)]
public class DpoDdoTests
{
    private static readonly double Ln3 = Math.Log(3);

    public DpoDdoTests() => TorchRuntime.Initialize(2);

    [Fact]
    public void DpoMatchesTheHandComputedLossMetricsAndGradient()
    {
        // Chosen log-ratios lp_w - lp_ref_w = [2 ln3, 0, 0], rejected lp_l - lp_ref_l = [0, 0, 2 ln3].
        // beta * (difference) = [ln3, 0, -ln3] -> L = -(ln(3/4) + ln(1/2) + ln(1/4)) / 3 = -ln(3/32) / 3 = 0.78904.
        var lpChosen = T(-10 + 2 * Ln3, -10, -10).requires_grad_(true);
        var result = Dpo.Loss(lpChosen, T(-10, -10, -10), T(-12, -12, -12 + 2 * Ln3), T(-12, -12, -12), beta: 0.5);
        double expected = -Math.Log(3.0 / 32) / 3;
        Assert.Equal(0.78904, expected, 5);
        Assert.Equal(expected, result.Loss.item<double>(), 12);
        // Rewards beta * log-ratio: chosen [ln3, 0, 0] (mean ln3 / 3), rejected [0, 0, ln3] (mean ln3 / 3), margin
        // mean 0, and chosen > rejected only in pair 0 -> accuracy 1/3.
        Assert.Equal(Ln3 / 3, result.Metrics["chosen_reward"], 12);
        Assert.Equal(Ln3 / 3, result.Metrics["rejected_reward"], 12);
        Assert.Equal(0, result.Metrics["reward_margin"], 12);
        Assert.Equal(1.0 / 3, result.Metrics["reward_accuracy"], 12);

        // dL/dlp_w_i = -beta * (1 - sigmoid(z_i)) / B with z = [ln3, 0, -ln3]: sigmoid = [3/4, 1/2, 1/4],
        // so the gradient is -0.5 * [1/4, 1/2, 3/4] / 3 = [-1/24, -1/12, -1/8].
        result.Loss.backward();
        var grad = Values(lpChosen.grad!);
        Assert.Equal(-1.0 / 24, grad[0], 12);
        Assert.Equal(-1.0 / 12, grad[1], 12);
        Assert.Equal(-1.0 / 8, grad[2], 12);
    }

    [Fact]
    public void DdoMatchesTheHandComputedLossAndMetrics()
    {
        // d = beta * (lp - lp_ref). Data: d = [ln3, 0] -> -mean logsig(d) = -(ln(3/4) + ln(1/2)) / 2 = 0.49041.
        // Fakes: d = [ln3, -ln3] -> logsig(-d) = [ln(1/4), ln(3/4)], -mean = -ln(3/16) / 2 = 0.83699, times alpha 3.
        // L = 0.49041 + 3 * 0.83699 = 3.00138.
        var result = Ddo.Loss(T(-3 + 2 * Ln3, -4), T(-3, -4), T(-2 + 2 * Ln3, -6), T(-2, -6 + 2 * Ln3), beta: 0.5, alpha: 3);
        double expected = -(Math.Log(3.0 / 4) + Math.Log(1.0 / 2)) / 2 - 3 * (Math.Log(1.0 / 4) + Math.Log(3.0 / 4)) / 2;
        Assert.Equal(3.00138, expected, 5);
        Assert.Equal(expected, result.Loss.item<double>(), 12);
        // Mean d: data ln3 / 2, fakes 0. Data called real (d > 0) in 1 of 2, fakes called fake (d < 0) in 1 of 2.
        Assert.Equal(Ln3 / 2, result.Metrics["d_data"], 12);
        Assert.Equal(0, result.Metrics["d_fake"], 12);
        Assert.Equal(0.5, result.Metrics["accuracy_data"], 12);
        Assert.Equal(0.5, result.Metrics["accuracy_fake"], 12);
    }

    [Fact]
    public void DdoWithAlphaZeroKeepsOnlyTheDataTermAndTakesUnequalBatches()
    {
        // Three fakes against two data rows; alpha 0 leaves -(ln(3/4) + ln(1/2)) / 2 = 0.49041.
        var result = Ddo.Loss(T(-3 + 2 * Ln3, -4), T(-3, -4), T(-1, -2, -3), T(-4, -5, -6), beta: 0.5, alpha: 0);
        Assert.Equal(-(Math.Log(3.0 / 4) + Math.Log(1.0 / 2)) / 2, result.Loss.item<double>(), 12);
    }

    [Fact]
    public void NonPositiveBetaIsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Dpo.Loss(T(1), T(1), T(1), T(1), beta: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ddo.Loss(T(1), T(1), T(1), T(1), beta: -1, alpha: 1));
    }
}
