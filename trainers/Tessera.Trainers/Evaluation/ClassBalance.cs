namespace Tessera.Trainers.Evaluation;

/// <summary>
/// Per-class counts of a labelled set and the row weights that give every class present the same total weight, so a
/// metric over a class-imbalanced set (a team's own folder) compares like with like: a generator sampled per class
/// in equal numbers against held-out images that are not.
/// </summary>
public static class ClassBalance
{
    /// <summary>How many rows carry each class 0..<paramref name="classes"/>-1; throws on a label outside that range.</summary>
    public static int[] Counts(IReadOnlyList<int> labels, int classes)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (classes <= 0) throw new ArgumentOutOfRangeException(nameof(classes), classes, "must be positive");
        var counts = new int[classes];
        foreach (int label in labels)
        {
            if (label < 0 || label >= classes) throw new ArgumentOutOfRangeException(nameof(labels), label, $"label outside [0, {classes})");
            counts[label]++;
        }
        return counts;
    }

    /// <summary>
    /// Row weights summing to 1 in which each class present weighs 1/(classes present), shared equally by its rows:
    /// 1 / (present * count[label]). A balanced set gets 1/N for every row, the unweighted case.
    /// </summary>
    public static double[] Weights(IReadOnlyList<int> labels, int classes)
    {
        var counts = Counts(labels, classes);
        int present = counts.Count(c => c > 0);
        if (present == 0) throw new ArgumentException("no rows", nameof(labels));
        return labels.Select(label => 1.0 / ((double)present * counts[label])).ToArray();
    }
}
