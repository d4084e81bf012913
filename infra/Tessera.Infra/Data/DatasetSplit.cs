namespace Tessera.Infra.Data;

/// <summary>A dataset cut into the images to train on and the images held out for evaluation.</summary>
public sealed record DatasetSplit(LabelledImages Train, LabelledImages HeldOut)
{
    /// <summary>
    /// Holds out the first <paramref name="perClass"/> images of every class, in input order (the fixed split
    /// of the bundled MNIST). Both halves keep input order.
    /// </summary>
    public static DatasetSplit FirstPerClass(LabelledImages all, int perClass)
    {
        ArgumentNullException.ThrowIfNull(all);
        ArgumentOutOfRangeException.ThrowIfNegative(perClass);
        var counts = all.CountPerClass();
        var starved = Array.FindIndex(counts, c => c <= perClass);
        if (starved >= 0)
            throw new ArgumentException(
                $"class '{all.ClassNames[starved]}' has {counts[starved]} images, too few to hold out {perClass} and train on the rest");
        var taken = new int[counts.Length];
        var heldOut = new List<int>();
        var train = new List<int>();
        for (var i = 0; i < all.Count; i++)
            (taken[all.Labels[i]]++ < perClass ? heldOut : train).Add(i);
        return new DatasetSplit(all.Select(train), all.Select(heldOut));
    }

    /// <summary>
    /// Holds out round(<paramref name="heldOutFraction"/> × n) randomly chosen images of each class of n images
    /// (at least one when the fraction is positive and n ≥ 2; never all of them). Each class draws from its
    /// own seeded stream, so the choice within one class does not depend on the others. Both halves keep
    /// input order.
    /// </summary>
    public static DatasetSplit Balanced(LabelledImages all, double heldOutFraction = 0.1, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(all);
        if (!(heldOutFraction >= 0 && heldOutFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(heldOutFraction), heldOutFraction, "held-out fraction must be in [0, 1)");
        var byClass = new List<int>[all.ClassNames.Count];
        for (var c = 0; c < byClass.Length; c++)
            byClass[c] = [];
        for (var i = 0; i < all.Count; i++)
            byClass[all.Labels[i]].Add(i);

        var isHeldOut = new bool[all.Count];
        for (var c = 0; c < byClass.Length; c++)
        {
            var members = byClass[c].ToArray();
            var n = members.Length;
            var take = (int)Math.Round(heldOutFraction * n, MidpointRounding.AwayFromZero);
            if (heldOutFraction > 0 && n >= 2)
                take = Math.Max(take, 1);
            take = Math.Min(take, n - 1);
            if (take <= 0)
                continue;
            new SplitMix64(SplitMix64.Derive(seed, (ulong)c)).Shuffle(members);
            foreach (var index in members.AsSpan(0, take))
                isHeldOut[index] = true;
        }

        var train = Enumerable.Range(0, all.Count).Where(i => !isHeldOut[i]).ToList();
        var heldOut = Enumerable.Range(0, all.Count).Where(i => isHeldOut[i]).ToList();
        return new DatasetSplit(all.Select(train), all.Select(heldOut));
    }
}
