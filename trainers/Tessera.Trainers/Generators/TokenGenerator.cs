using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers.Generators;

/// <summary>
/// What the trainer, the samplers and the eval stage need from a class-conditional token generator, whichever
/// kind: the raster GPT (<see cref="GptGenerator"/>) or the next-scale VAR (<see cref="VarGenerator"/>).
/// </summary>
public abstract class TokenGenerator : nn.Module
{
    /// <summary>
    /// The model <paramref name="config"/> names, with fresh seeded weights. A VAR model needs
    /// <paramref name="scaleInputs"/> (its tokenizer's); the GPT ignores them.
    /// </summary>
    public static TokenGenerator Create(GeneratorConfig config, Generator generator, IScaleInputs? scaleInputs)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Model != GeneratorConfig.ModelVar) return new GptGenerator(config, generator);
        return new VarGenerator(config, generator, scaleInputs ?? throw new ArgumentException(
            "a 'var' generator needs a multi-scale tokenizer (kind: msvq) for its scale inputs", nameof(scaleInputs)));
    }

    protected TokenGenerator(string name, GeneratorConfig config) : base(name)
    {
        config.Validate();
        Config = config;
    }

    public GeneratorConfig Config { get; }

    /// <summary>Class index that means "no class": the unconditional branch of classifier-free guidance.</summary>
    public int NullClass => Config.Classes;

    /// <summary>Mean cross-entropy (nats per token) of token ids (B, L) given class ids (B), teacher-forced.</summary>
    public abstract Tensor TrainingLoss(Tensor classes_B, Tensor tokens_BL);

    /// <summary>Token ids (B, L) int64 on the model's device, one sequence per entry of <paramref name="classes"/>.</summary>
    public abstract Tensor Generate(IReadOnlyList<int> classes, SamplingOptions options, Generator generator);

    /// <summary>The model's device (that of its first parameter).</summary>
    public Device Device => parameters().First().device;
}
