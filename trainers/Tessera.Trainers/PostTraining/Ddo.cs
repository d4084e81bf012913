using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers.PostTraining;

/// <summary>
/// Direct Discriminative Optimization (arXiv 2503.01103; no public training code, formulas as the paper and
/// ../shared/algorithms.md write them): the model is its own discriminator through its likelihood ratio to a frozen
/// reference, <c>d(x) = beta * (lp(x|c) - lp_ref(x|c))</c>, trained to call data real and the reference's samples fake.
/// </summary>
public static class Ddo
{
    /// <summary>
    /// <c>L = -mean_data logsig(d) - alpha * mean_fake logsig(-d)</c>. Data and fake log-probabilities are per sequence,
    /// each pair (policy, reference) of one shape (B_data) and (B_fake); the two batches may differ in size. Metrics: mean
    /// d on each side and the discriminator's accuracy (d &gt; 0 on data, d &lt; 0 on fakes).
    /// </summary>
    public static ObjectiveResult Loss(Tensor lpData_B, Tensor lpRefData_B, Tensor lpFake_F, Tensor lpRefFake_F, double beta, double alpha)
    {
        Shapes.RequireSame(1, ("lp_data", lpData_B), ("lp_ref_data", lpRefData_B));
        Shapes.RequireSame(1, ("lp_fake", lpFake_F), ("lp_ref_fake", lpRefFake_F));
        Shapes.RequirePositive(beta, nameof(beta));
        if (!(alpha >= 0 && double.IsFinite(alpha))) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be >= 0 and finite");
        var dData_B = (lpData_B - lpRefData_B) * beta;
        var dFake_F = (lpFake_F - lpRefFake_F) * beta;
        var loss = -nn.functional.logsigmoid(dData_B).mean() - alpha * nn.functional.logsigmoid(-dFake_F).mean();
        return new ObjectiveResult(loss, new Dictionary<string, double>
        {
            ["d_data"] = ObjectiveResult.Mean(dData_B),
            ["d_fake"] = ObjectiveResult.Mean(dFake_F),
            ["accuracy_data"] = ObjectiveResult.Fraction(dData_B.gt(0)),
            ["accuracy_fake"] = ObjectiveResult.Fraction(dFake_F.lt(0)),
        });
    }
}
