using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tessera.Trainers.Evaluation;

/// <summary>
/// Small CNN for images of any channels and size (at least 4x4): two conv stages (full, then half resolution), one conv
/// each (a second conv per stage doubled CPU time for a few tenths of a percent), with batch norm; then an adaptive
/// average pool to a fixed 7x7 map, so the fully connected penultimate layer (the features) has the same width for any
/// image size; dropout and a linear classifier. On 28x28 digits the map is already 7x7 and the pool is the identity:
/// the digits' classifier, its weights and its numbers are what they were before other sizes were allowed. Knows
/// nothing of training.
/// </summary>
public sealed class DigitClassifier : nn.Module
{
    /// <summary>Smallest image side the two 2x2 poolings leave at least one position of.</summary>
    public const int MinImageSide = 4;

    /// <summary>Side of the map the features are read from, whatever the image size (28 / 4 = 7 for digits).</summary>
    const int MapSide = 7;

    private readonly Sequential trunk;
    private readonly Linear fc;
    private readonly Dropout drop;
    private readonly Linear classifier;

    public DigitClassifier(DigitClassifierConfig config, Generator generator) : base(nameof(DigitClassifier))
    {
        config.Validate();
        Config = config;
        int c = config.Channels;
        trunk = nn.Sequential(
            ("conv1", nn.Conv2d(config.ImageChannels, c, 3, padding: 1)),   // (B, c, H, W)
            ("bn1", nn.BatchNorm2d(c)),
            ("act1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),                                      // (B, c, H/2, W/2)
            ("conv2", nn.Conv2d(c, 2 * c, 3, padding: 1)),
            ("bn2", nn.BatchNorm2d(2 * c)),
            ("act2", nn.ReLU()),
            ("pool2", nn.MaxPool2d(2)),                                      // (B, 2c, H/4, W/4)
            ("map", nn.AdaptiveAvgPool2d(MapSide)),                          // (B, 2c, 7, 7): no parameters, so checkpoints keep their names
            ("flatten", nn.Flatten()));                                      // (B, 2c*49)
        fc = nn.Linear(2 * c * MapSide * MapSide, config.FeatureDim);
        drop = nn.Dropout(config.Dropout);
        classifier = nn.Linear(config.FeatureDim, config.Classes);
        RegisterComponents();
        ResetParameters(generator);
    }

    public DigitClassifierConfig Config { get; }

    /// <summary>Images (B, C, H, W) in [0, 1] -> penultimate features (B, F), after the ReLU.</summary>
    public Tensor Features(Tensor images_BCHW) => nn.functional.relu(fc.forward(trunk.forward(images_BCHW)));

    /// <summary>Images (B, C, H, W) in [0, 1] -> class logits (B, K).</summary>
    public Tensor Logits(Tensor images_BCHW) => classifier.forward(drop.forward(Features(images_BCHW)));

    /// <summary>Kaiming-uniform-style weights drawn from the caller's generator, so the model is seeded.</summary>
    private void ResetParameters(Generator generator)
    {
        using var _ = no_grad();
        var parameters = named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, weight) in parameters)
        {
            if (!name.EndsWith(".weight", StringComparison.Ordinal) || weight.dim() < 2) continue; // batch norm keeps 1/0
            long fanIn = weight.shape.Skip(1).Aggregate(1L, (a, s) => a * s);
            double bound = Math.Sqrt(6.0 / fanIn) / Math.Sqrt(2.0);
            SeededInit.Uniform(weight, bound, generator);
            if (parameters.TryGetValue(name[..^".weight".Length] + ".bias", out var bias)) bias.zero_();
        }
    }
}
