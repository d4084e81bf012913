namespace Tessera.Trainers.Tokenizers;

/// <summary>
/// The tokenizer's shape rules: image side -> downsample -> token grid -> scale schedule. Pure functions, so the
/// spec validator can apply them to a dataset manifest before anything trains.
/// </summary>
public sealed partial record VqTokenizerConfig
{
    /// <summary>The encoder strides a tokenizer can be built with: 2, 3 or 4 stride-2 stages.</summary>
    public static readonly IReadOnlyList<int> Downsamples = [4, 8, 16];

    /// <summary>Grid side the default downsample aims at: 64 tokens keep a raster GPT cheap on CPU.</summary>
    public const int MaxDefaultGridSide = 8;

    /// <summary>Every side up to this one is its own scale in a default schedule: VAR's schedules all start 1,2,3,4.</summary>
    public const int DenseScalesUpTo = 4;

    /// <summary>
    /// The downsample used when none is given: the smallest of 4, 8, 16 that divides <paramref name="imageSide"/> and
    /// leaves a grid of at most <see cref="MaxDefaultGridSide"/> (28 -> 4: 7x7; 32 -> 4: 8x8; 64 -> 8: 8x8;
    /// 128 -> 16: 8x8); failing that, the largest that divides it (256 -> 16: 16x16). Throws when none divides it.
    /// </summary>
    public static int DefaultDownsample(int imageSide)
    {
        if (imageSide <= 0) throw new ArgumentOutOfRangeException(nameof(imageSide), imageSide, "image side must be positive");
        var dividing = Downsamples.Where(d => imageSide % d == 0).ToArray();
        if (dividing.Length == 0)
            throw new ArgumentException($"image side {imageSide} is not divisible by any of {string.Join(", ", Downsamples)}; " +
                "resize the images to a multiple of 4 (e.g. 28, 32 or 64)");
        return dividing.FirstOrDefault(d => imageSide / d <= MaxDefaultGridSide, dividing[^1]);
    }

    /// <summary>
    /// The scale schedule used when none is given, for a grid side g: every side from 1 up to min(g, 4), then sides
    /// g / sqrt(2)^k rounded (k = ..., 2, 1, 0) while above 4, so the schedule ends exactly at g and each step past 4
    /// grows the side by about sqrt(2) (the token count about doubles). 4 -> 1,2,3,4; 7 -> 1,2,3,4,5,7 (the MNIST
    /// schedule, shared/algorithms.md); 8 -> 1,2,3,4,6,8; 16 -> 1,2,3,4,6,8,11,16. VAR's 16x16
    /// schedule (1,2,3,4,5,6,8,10,13,16) grows by about 1.25; sqrt(2) keeps the sequence short on CPU.
    /// </summary>
    public static IReadOnlyList<int> DefaultScaleSchedule(int gridSide)
    {
        if (gridSide <= 0) throw new ArgumentOutOfRangeException(nameof(gridSide), gridSide, "grid side must be positive");
        var coarse = new List<int>();
        for (int k = 0; ; k++)
        {
            int side = (int)Math.Round(gridSide / Math.Pow(Math.Sqrt(2), k), MidpointRounding.AwayFromZero);
            if (side <= DenseScalesUpTo) break;
            coarse.Add(side);
        }
        coarse.Reverse();
        return Enumerable.Range(1, Math.Min(gridSide, DenseScalesUpTo)).Concat(coarse).ToArray();
    }

    /// <summary>Downsample after defaulting: <see cref="Downsample"/>, or <see cref="DefaultDownsample"/>(ImageSize) when it is 0.</summary>
    public int EffectiveDownsample => Downsample != 0 ? Downsample : DefaultDownsample(ImageSize);

    /// <summary>Side of the (finest) token grid: ImageSize / downsample.</summary>
    public int GridSide => ImageSize / EffectiveDownsample;

    /// <summary>Token-map sides coarse to fine: the grid side alone for "vq", the given or default schedule for "msvq".</summary>
    public IReadOnlyList<int> ScaleList()
    {
        int grid = GridSide;
        if (Kind == KindVq) return [grid];
        if (string.IsNullOrWhiteSpace(ScaleSchedule)) return DefaultScaleSchedule(grid);
        var parts = ScaleSchedule.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var scales = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], out scales[i]) || scales[i] <= 0)
                throw new ArgumentException($"ScaleSchedule '{ScaleSchedule}': '{parts[i]}' is not a positive integer");
        for (int i = 1; i < scales.Length; i++)
            if (scales[i] <= scales[i - 1]) throw new ArgumentException($"ScaleSchedule '{ScaleSchedule}' must increase strictly");
        if (scales[^1] != grid)
            throw new ArgumentException($"ScaleSchedule '{ScaleSchedule}' must end at the token grid side {grid} (ImageSize {ImageSize} / " +
                $"downsample {EffectiveDownsample}); leave it empty for the default {string.Join(",", DefaultScaleSchedule(grid))}");
        return scales;
    }

    /// <summary>
    /// This config with every default that depends on the shape made explicit (downsample; for "msvq" the scale
    /// schedule), as a checkpoint records it: a later change of a default rule cannot change a trained model.
    /// Validates first.
    /// </summary>
    public VqTokenizerConfig Resolved()
    {
        Validate();
        return this with
        {
            Downsample = EffectiveDownsample,
            ScaleSchedule = Kind == KindMsVq ? string.Join(",", ScaleList()) : ScaleSchedule,
        };
    }

    /// <summary>Throws, naming the setting, unless the image shape is given and the downsample and schedule fit it.</summary>
    private void ValidateShape()
    {
        if (ImageChannels <= 0)
            throw new ArgumentOutOfRangeException(nameof(ImageChannels), ImageChannels, "ImageChannels must be positive: take it from the dataset manifest");
        if (ImageSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, "ImageSize must be positive: take it from the dataset manifest");
        if (Downsample != 0 && !Downsamples.Contains(Downsample))
            throw new ArgumentOutOfRangeException(nameof(Downsample), Downsample, $"Downsample must be one of {string.Join(", ", Downsamples)} (or 0 for the default)");
        if (ImageSize % EffectiveDownsample != 0)
            throw new ArgumentException($"ImageSize {ImageSize} is not divisible by Downsample {EffectiveDownsample}");
        _ = ScaleList();
    }
}
