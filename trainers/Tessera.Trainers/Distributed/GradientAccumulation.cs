using static TorchSharp.torch;

namespace Tessera.Trainers.Distributed;

/// <summary>
/// One micro-batch of a step: rows [<see cref="Start"/>, + <see cref="Count"/>) of the batch this rank holds, which are
/// rows [<see cref="GlobalStart"/>, + <see cref="Count"/>) of the global batch (what per-row random draws made for the
/// whole global batch are sliced by).
/// </summary>
public readonly record struct MicroBatch(int Start, int GlobalStart, int Count);

/// <summary>
/// The forward and backward passes of one training step, shared by every trainer: one pass over the whole batch
/// without data parallelism, else one per virtual rank this rank runs (<see cref="DataParallel.VirtualRanks"/>).
///
/// Why the arithmetic matches the full group: each slice's loss is a mean over its rows, and the all-reduce averages
/// over the k actual ranks, while the step must average over the W virtual ranks. So each micro-batch's loss is
/// back-propagated times k / W; gradients add up in <c>.grad</c>, and after the ring's division by k every rank holds
/// (sum of all W slice gradients) / W: exactly the W-rank step, up to float rounding. With k = W the scale is 1 and
/// nothing changes.
/// </summary>
public static class GradientAccumulation
{
    /// <summary>
    /// This rank's micro-batches of a global batch of <paramref name="globalBatch"/>, in the order its batch source
    /// lays out their rows.
    /// </summary>
    public static IReadOnlyList<MicroBatch> Plan(DataParallel? parallel, int globalBatch)
    {
        if (parallel is null) return [new MicroBatch(0, 0, globalBatch)];
        var plan = new List<MicroBatch>();
        int local = 0;
        foreach (var (start, count) in parallel.Slices(globalBatch))
        {
            plan.Add(new MicroBatch(local, start, count));
            local += count;
        }
        return plan;
    }

    /// <summary>The global row of each row this rank holds (for per-row draws made over the whole global batch).</summary>
    public static int[] GlobalRows(DataParallel? parallel, int globalBatch) =>
        Plan(parallel, globalBatch).SelectMany(m => Enumerable.Range(m.GlobalStart, m.Count)).ToArray();

    /// <summary>
    /// Runs <paramref name="loss"/> for each micro-batch and back-propagates it, scaled as above. Returns the mean of
    /// the micro-batch losses, detached (what the step reports and the non-finite guard checks); with one micro-batch,
    /// the loss itself. Call inside the step's dispose scope, after zero_grad, before averaging.
    /// </summary>
    public static Tensor Backward(DataParallel? parallel, int globalBatch, Func<MicroBatch, Tensor> loss)
    {
        var plan = Plan(parallel, globalBatch);
        if (plan.Count == 1)
        {
            var only = loss(plan[0]);
            only.backward();
            return only;
        }
        double scale = (double)parallel!.WorldSize / parallel.VirtualWorld;
        Tensor? sum = null;
        foreach (var micro in plan)
        {
            var part = loss(micro);
            part.mul(scale).backward();
            var value = part.detach();
            sum = sum is null ? value : sum.add(value);
        }
        return sum!.div(plan.Count);
    }
}
