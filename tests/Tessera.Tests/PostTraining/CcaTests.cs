using Tessera.Trainers;
using Tessera.Trainers.PostTraining;
using static TorchSharp.torch;

namespace Tessera.Tests.PostTraining;

/// <summary>
/// CCA's pairs and loss against values worked out by hand. The inputs are chosen so that every beta-scaled gap is
/// 0 or +-ln 3, where logsig has closed forms: logsig(0) = ln(1/2), logsig(ln 3) = ln(3/4), logsig(-ln 3) = ln(1/4).
/// </summary>
[Collection(TorchCollection.Name)]
public class CcaTests
{
    private static readonly double Ln3 = Math.Log(3);
    private const int NullClass = 10;

    public CcaTests() => TorchRuntime.Initialize(2);

    internal static Tensor T(params double[] values) => tensor(values, dtype: float64);

    internal static double[] Values(Tensor t) => t.to(float64).data<double>().ToArray();

    private static Cca.Pairs Pairs(long[] classes, double lambda, double nullRatio = 0, ulong seed = 1)
    {
        using var g = new Generator(seed);
        return Cca.BuildPairs(tensor(classes), NullClass, nullRatio, lambda, g);
    }

    /// <summary>
    /// gap = lp - lp_ref = [2 ln3, 0, -2 ln3], so beta*gap = [ln3, 0, -ln3] with beta 0.5.
    /// ngap = lp_neg - lp_ref_neg = [-2 ln3, 2 ln3, -2 ln3]; with signs [-1, +1, -1] every s*beta*ngap is ln3.
    /// </summary>
    private static ObjectiveResult LossOf(Cca.Pairs pairs, double lambda) => Cca.Loss(
        T(-5 + 2 * Ln3, -7, -9), T(-5, -7, -9 + 2 * Ln3),
        T(-6 - 2 * Ln3, -4 + 2 * Ln3, -8 - 2 * Ln3), T(-6, -4, -8),
        pairs.Weights_B, pairs.Signs_B, beta: 0.5, lambda);

    [Fact]
    public void NegativesAreTheRolledClassesAndEqualClassPairsCountAsPositive()
    {
        // c = [0, 1, 1] -> c_neg = roll(c, -1) = [1, 1, 0]: pair 1 has c_neg == c, so it is positive (w 1, s +1);
        // pairs 0 and 2 are true negatives (w lambda = 2, s -1). No null draws at ratio 0.
        var pairs = Pairs([0, 1, 1], lambda: 2);
        Assert.Equal(new long[] { 0, 1, 1 }, pairs.Classes_B.data<long>().ToArray());
        Assert.Equal(new long[] { 1, 1, 0 }, pairs.NegativeClasses_B.data<long>().ToArray());
        Assert.Equal(new[] { 2.0, 1.0, 2.0 }, Values(pairs.Weights_B));
        Assert.Equal(new[] { -1.0, 1.0, -1.0 }, Values(pairs.Signs_B));
    }

    [Fact]
    public void LossMatchesTheHandComputedValue()
    {
        // Positive term: -mean logsig(beta*gap) = -(ln(3/4) + ln(1/2) + ln(1/4)) / 3 = -ln(3/32) / 3 = 0.78904.
        // Contrast term: -mean(w * logsig(s*beta*ngap)) = -(2 + 1 + 2) * ln(3/4) / 3 = 0.47947.
        // L = (0.78904 + 0.47947) / max(2, 1) = 0.63426.
        var result = LossOf(Pairs([0, 1, 1], lambda: 2), lambda: 2);
        double expected = (-Math.Log(3.0 / 32) / 3 - 5 * Math.Log(3.0 / 4) / 3) / 2;
        Assert.Equal(0.63426, expected, 5);
        Assert.Equal(expected, result.Loss.item<double>(), 12);
        // Diagnostics as the source logs them: mean gap 0, mean ngap -2 ln3 / 3, margin 2 ln3 / 3,
        // accuracy (gap > ngap): 2 ln3 > -2 ln3 yes, 0 > 2 ln3 no, -2 ln3 > -2 ln3 no -> 1/3.
        Assert.Equal(0, result.Metrics["chosen_reward"], 12);
        Assert.Equal(-2 * Ln3 / 3, result.Metrics["rejected_reward"], 12);
        Assert.Equal(2 * Ln3 / 3, result.Metrics["reward_margin"], 12);
        Assert.Equal(1.0 / 3, result.Metrics["reward_accuracy"], 12);
    }

    [Fact]
    public void LambdaBelowOneWeighsNegativesByLambdaAndDividesByOne()
    {
        // w = [0.5, 1, 0.5]: contrast term -(0.5 + 1 + 0.5) * ln(3/4) / 3 = 0.19179; max(0.5, 1) = 1.
        // L = 0.78904 + 0.19179 = 0.98083.
        var result = LossOf(Pairs([0, 1, 1], lambda: 0.5), lambda: 0.5);
        double expected = -Math.Log(3.0 / 32) / 3 - 2 * Math.Log(3.0 / 4) / 3;
        Assert.Equal(0.98083, expected, 5);
        Assert.Equal(expected, result.Loss.item<double>(), 12);
    }

    [Fact]
    public void AllPositivePairsUseTheNegativeGapWithSignPlusOne()
    {
        // c = [2, 2, 2]: c_neg == c everywhere, so w = 1 and s = +1 for all; s*beta*ngap = [-ln3, ln3, -ln3]
        // -> logsig = [ln(1/4), ln(3/4), ln(1/4)], contrast term -ln(3/64) / 3 = 1.02011.
        // The source still divides by max(lambda, 1) = 2: L = (0.78904 + 1.02011) / 2 = 0.90457.
        var pairs = Pairs([2, 2, 2], lambda: 2);
        Assert.Equal(new[] { 1.0, 1.0, 1.0 }, Values(pairs.Weights_B));
        Assert.Equal(new[] { 1.0, 1.0, 1.0 }, Values(pairs.Signs_B));
        var result = LossOf(pairs, lambda: 2);
        double expected = (-Math.Log(3.0 / 32) / 3 - Math.Log(3.0 / 64) / 3) / 2;
        Assert.Equal(0.90457, expected, 5);
        Assert.Equal(expected, result.Loss.item<double>(), 12);
    }

    [Fact]
    public void NullDrawsTurnBothClassesNullAndThePairPositive()
    {
        var all = Pairs([0, 1, 2, 3], lambda: 7, nullRatio: 1);
        Assert.All(all.Classes_B.data<long>().ToArray(), c => Assert.Equal(NullClass, c));
        Assert.All(all.NegativeClasses_B.data<long>().ToArray(), c => Assert.Equal(NullClass, c));
        Assert.Equal(new[] { 1.0, 1.0, 1.0, 1.0 }, Values(all.Weights_B));
        Assert.Equal(new[] { 1.0, 1.0, 1.0, 1.0 }, Values(all.Signs_B));

        // Half the rows drawn null: those rows are (null, null, 1, +1), the others keep (c, roll(c), lambda, -1).
        long[] classes = [0, 1, 2, 3, 4, 5, 6, 7];
        var some = Pairs(classes, lambda: 7, nullRatio: 0.5, seed: 3);
        var again = Pairs(classes, lambda: 7, nullRatio: 0.5, seed: 3);
        Assert.Equal(some.Classes_B.data<long>().ToArray(), again.Classes_B.data<long>().ToArray()); // seeded
        var positive = some.Classes_B.data<long>().ToArray();
        var negative = some.NegativeClasses_B.data<long>().ToArray();
        var weights = Values(some.Weights_B);
        int nulls = 0;
        for (int i = 0; i < classes.Length; i++)
        {
            bool isNull = positive[i] == NullClass;
            nulls += isNull ? 1 : 0;
            Assert.Equal(isNull ? NullClass : classes[(i + 1) % classes.Length], negative[i]);
            Assert.Equal(isNull ? 1.0 : 7.0, weights[i]);
            if (!isNull) Assert.Equal(classes[i], positive[i]);
        }
        Assert.InRange(nulls, 1, classes.Length - 1);
    }

    [Fact]
    public void NullRatioIsTheFractionOfNullPairs()
    {
        var classes = arange(20_000, dtype: int64).remainder(10);
        using var g = new Generator(11);
        var pairs = Cca.BuildPairs(classes, NullClass, nullRatio: 0.1, lambda: 50, g);
        double fraction = pairs.Classes_B.eq(NullClass).to(float64).mean().item<double>();
        Assert.InRange(fraction, 0.09, 0.11);
    }

    [Fact]
    public void MismatchedShapesAreRefusedByName()
    {
        var pairs = Pairs([0, 1, 1], lambda: 2);
        var error = Assert.Throws<ArgumentException>(() => Cca.Loss(T(1, 2, 3), T(1, 2), T(1, 2, 3), T(1, 2, 3), pairs.Weights_B, pairs.Signs_B, 0.5, 2));
        Assert.Contains("lp_ref", error.Message);
    }
}
