using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tessera.Trainers.Evaluation;

/// <summary>
/// Small CNN for images of any channels and size (at least 4x4): three conv stages (full, 1/2, 1/4 resolution; one
/// conv each, as a second conv per stage doubled CPU time for a few tenths of a percent on digits) with batch norm,
/// then global average pooling, so the weights do not depend on height or width; a fully connected penultimate
/// layer (the features), dropout and a linear classifier. Knows nothing of training.
/// </summary>
public sealed class DigitClassifier : nn.Module
{
    /// <summary>Smallest image side the two 2x2 poolings leave at least one position of.</summary>
    public const int MinImageSide = 4;

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
            ("conv3", nn.Conv2d(2 * c, 4 * c, 3, padding: 1)),
            ("bn3", nn.BatchNorm2d(4 * c)),
            ("act3", nn.ReLU()));                                            // (B, 4c, H/4, W/4)
        fc = nn.Linear(4 * c, config.FeatureDim);
        drop = nn.Dropout(config.Dropout);
        classifier = nn.Linear(config.FeatureDim, config.Classes);
        RegisterComponents();
        ResetParameters(generator);
    }

    public DigitClassifierConfig Config { get; }

    /// <summary>Images (B, C, H, W) in [0, 1] -> penultimate features (B, F), after the ReLU.</summary>
    public Tensor Features(Tensor images_BCHW) => nn.functional.relu(fc.forward(trunk.forward(images_BCHW).mean([2, 3]))); // global average pool: (B, 4c)

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
