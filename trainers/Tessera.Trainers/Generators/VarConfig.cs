namespace Tessera.Trainers.Generators;

/// <summary>Hyperparameters of the next-scale (VAR) generator, declared once; defaults suit 1,2,3,4,5,7 scales of MNIST.</summary>
public sealed record VarConfig
{
    /// <summary>Side of each scale's token grid, coarse to fine; the 7x7 latent of the VQ tokenizer ends the pyramid.</summary>
    public int[] Scales { get; init; } = [1, 2, 3, 4, 5, 7];
    /// <summary>Vocabulary: the tokenizer's (shared) codebook size.</summary>
    public int CodebookSize { get; init; } = 256;
    /// <summary>Width of the tokenizer's scale inputs (its code dimension).</summary>
    public int InputDim { get; init; } = 8;
    /// <summary>Real classes; the class embedding has one more row, the null class used for guidance.</summary>
    public int Classes { get; init; } = 10;
    /// <summary>Residual width; as for the raster GPT.</summary>
    public int ModelDim { get; init; } = 128;
    /// <summary>Transformer blocks.</summary>
    public int Layers { get; init; } = 4;
    /// <summary>Attention heads.</summary>
    public int Heads { get; init; } = 4;
    /// <summary>MLP hidden width as a multiple of ModelDim.</summary>
    public int MlpRatio { get; init; } = 4;
    /// <summary>Dropout on attention output and MLP.</summary>
    public double Dropout { get; init; } = 0.1;
    /// <summary>Probability a training label becomes the null class (VAR's 0.1), so guidance has an unconditional model.</summary>
    public double ClassDropout { get; init; } = 0.1;

    /// <summary>Tokens in one image: the sum of side^2 over the scales.</summary>
    public int SequenceLength => Scales.Sum(s => s * s);

    public void Validate()
    {
        if (Scales.Length == 0 || Scales.Any(s => s <= 0)) throw new ArgumentException("scales must be positive and non-empty");
        foreach (var (value, name) in new[] { (CodebookSize, nameof(CodebookSize)), (InputDim, nameof(InputDim)), (Classes, nameof(Classes)),
                     (ModelDim, nameof(ModelDim)), (Layers, nameof(Layers)), (Heads, nameof(Heads)), (MlpRatio, nameof(MlpRatio)) })
            if (value <= 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive");
        if (ModelDim % Heads != 0) throw new ArgumentException($"ModelDim {ModelDim} is not divisible by Heads {Heads}");
        if (!(Dropout >= 0 && Dropout < 1)) throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "must be in [0, 1)");
        if (!(ClassDropout >= 0 && ClassDropout < 1)) throw new ArgumentOutOfRangeException(nameof(ClassDropout), ClassDropout, "must be in [0, 1)");
    }
}
