using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Tessera.Trainers.Evaluation;

/// <summary>
/// Small CNN for 28x28 digits: two conv stages (28 -> 14 -> 7), one conv each (a second conv per stage
/// doubled CPU time for a few tenths of a percent), with batch norm, a fully connected
/// penultimate layer (the features), dropout and a linear classifier. Knows nothing of training.
/// </summary>
public sealed class DigitClassifier : nn.Module
{
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
            ("conv1", nn.Conv2d(config.ImageChannels, c, 3, padding: 1)),   // (B, c, 28, 28)
            ("bn1", nn.BatchNorm2d(c)),
            ("act1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),                                      // (B, c, 14, 14)
            ("conv2", nn.Conv2d(c, 2 * c, 3, padding: 1)),
            ("bn2", nn.BatchNorm2d(2 * c)),
            ("act2", nn.ReLU()),
            ("pool2", nn.MaxPool2d(2)),                                      // (B, 2c, 7, 7)
            ("flatten", nn.Flatten()));                                      // (B, 2c*49)
        fc = nn.Linear(2 * c * 49, config.FeatureDim);
        drop = nn.Dropout(config.Dropout);
        classifier = nn.Linear(config.FeatureDim, config.Classes);
        RegisterComponents();
        ResetParameters(generator);
    }

    public DigitClassifierConfig Config { get; }

    /// <summary>Images (B, C, 28, 28) in [0, 1] -> penultimate features (B, F), after the ReLU.</summary>
    public Tensor Features(Tensor images_BCHW) => nn.functional.relu(fc.forward(trunk.forward(images_BCHW)));

    /// <summary>Images (B, C, 28, 28) in [0, 1] -> class logits (B, K).</summary>
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
