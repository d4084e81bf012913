using Tessera.Infra.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers.Tokenizers;

/// <summary>What one training-mode pass of a tokenizer produced.</summary>
/// <param name="Reconstruction">Unclamped images (B, C, H, W).</param>
/// <param name="Indices">Tokens (B, L), all scales coarse to fine.</param>
/// <param name="QuantizerLoss">The quantizer's weighted loss terms (commitment, codebook or VAR's multi-scale loss), scalar.</param>
/// <param name="RestartedCodes">Dead codes restarted during this pass.</param>
public readonly record struct TokenizerForward(Tensor Reconstruction, Tensor Indices, Tensor QuantizerLoss, int RestartedCodes);

/// <summary>
/// A trainable image tokenizer: what the trainer needs on top of <see cref="IImageTokenizer"/>. Knows nothing of
/// training: the trainer owns the reconstruction loss, optimizer and schedule.
/// </summary>
public abstract class TokenizerModel : nn.Module, IImageTokenizer
{
    protected TokenizerModel(string name, VqTokenizerConfig config) : base(name)
    {
        Config = config.Resolved();
    }

    /// <summary>The config the model was built from, its shape defaults resolved (<see cref="VqTokenizerConfig.Resolved"/>).</summary>
    public VqTokenizerConfig Config { get; }
    public abstract string Kind { get; }
    public IReadOnlyList<int> Scales => Config.ScaleList();
    public int CodebookSize => Config.CodebookSize;
    /// <summary>Token sequence length: sum of side*side over <see cref="Scales"/>.</summary>
    public int TokenCount => Scales.Sum(s => s * s);
    /// <summary>The codebook, whichever way it is kept in use.</summary>
    public abstract Codebook Quantizer { get; }

    /// <summary>Training-mode pass; with <paramref name="updateCodebook"/>, also one EMA codebook step.</summary>
    public abstract TokenizerForward Forward(Tensor images_BCHW, bool updateCodebook, Generator? generator);

    public abstract Tensor Encode(Tensor images_BCHW);
    public abstract Tensor Decode(Tensor tokens_BL);

    /// <summary>Throws, naming <paramref name="what"/>, unless <paramref name="batch"/> has the channels and size the model was built for.</summary>
    public void RequireShape(ImageBatch batch, string what)
    {
        if (batch.Channels != Config.ImageChannels)
            throw new ArgumentException($"{what} has {batch.Channels} channels, the tokenizer expects {Config.ImageChannels}");
        if (batch.Height != Config.ImageSize || batch.Width != Config.ImageSize)
            throw new ArgumentException($"{what} is {batch.Height}x{batch.Width}; the tokenizer expects {Config.ImageSize}x{Config.ImageSize}");
    }

    /// <summary>The inputs a next-scale (VAR) generator reads between scales; null for a single-scale tokenizer.</summary>
    public virtual Generators.IScaleInputs? ScaleInputs => null;

    /// <summary>Splits tokens (B, L) into per-scale grids (B, s, s), coarse to fine.</summary>
    protected Tensor[] SplitScales(Tensor tokens_BL)
    {
        if (tokens_BL.dim() != 2 || tokens_BL.shape[1] != TokenCount)
            throw new ArgumentException($"tokens must be (B, {TokenCount}), got ({string.Join(", ", tokens_BL.shape)})");
        var b = tokens_BL.shape[0];
        var sizes = Scales.Select(s => (long)s * s).ToArray();
        return tokens_BL.split(sizes, 1).Select((t, i) => t.reshape(b, Scales[i], Scales[i])).ToArray();
    }
}
