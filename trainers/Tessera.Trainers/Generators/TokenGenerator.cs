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

    /// <summary>
    /// Per-token log-probabilities log p(x_t | x_&lt;t, c) (B, L) of token ids (B, L) given class ids (B), teacher-forced,
    /// with gradients. Their negated mean is <see cref="TrainingLoss"/>; the post-training objectives need them per
    /// sequence (CCA, DDO, DPO) or per token (the clipped RL ratio).
    /// </summary>
    public abstract Tensor TokenLogProbs(Tensor classes_B, Tensor tokens_BL);

    /// <summary>log p(x | c) of each whole sequence (B): the sum of <see cref="TokenLogProbs"/> over positions.</summary>
    public Tensor SequenceLogProbs(Tensor classes_B, Tensor tokens_BL) => TokenLogProbs(classes_B, tokens_BL).sum(1);

    /// <summary>
    /// A new model of the same kind, with <paramref name="config"/> (this one's, or one with other dropout) and an
    /// exact copy of this one's weights and persistent buffers, on this model's device. Shares no tensor with it.
    /// </summary>
    public TokenGenerator Copy(GeneratorConfig? config = null)
    {
        using var generator = new Generator(0); // the weights are overwritten below; the seed only has to be valid
        var copy = CreateSibling(config ?? Config, generator);
        try
        {
            copy.to(Device);
            var source = state_dict();
            var targets = copy.state_dict();
            using var _ = no_grad();
            foreach (var (name, target) in targets)
            {
                if (!source.TryGetValue(name, out var value) || !value.shape.SequenceEqual(target.shape))
                    throw new ArgumentException($"copying a {GetType().Name}: '{name}' has no counterpart of the same shape; the config may change dropout, not sizes");
                target.copy_(value);
            }
            if (targets.Count != source.Count)
                throw new ArgumentException($"copying a {GetType().Name}: {source.Count} tensors in the source, {targets.Count} in the copy");
            return copy;
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }

    /// <summary>A freshly initialised model of this kind with <paramref name="config"/> and this model's tokenizer inputs, if any.</summary>
    protected abstract TokenGenerator CreateSibling(GeneratorConfig config, Generator generator);

    /// <summary>log_softmax of logits (B, L, V) picked at the target ids (B, L): (B, L).</summary>
    protected static Tensor GatherLogProbs(Tensor logits_BLV, Tensor tokens_BL) =>
        logits_BLV.log_softmax(-1).gather(2, tokens_BL.unsqueeze(2)).squeeze(2);

    /// <summary>Token ids (B, L) int64 on the model's device, one sequence per entry of <paramref name="classes"/>.</summary>
    public abstract Tensor Generate(IReadOnlyList<int> classes, SamplingOptions options, Generator generator);

    /// <summary>The model's device (that of its first parameter).</summary>
    public Device Device => parameters().First().device;
}
