using static TorchSharp.torch;

namespace Tessera.Trainers.Tokenizers;

/// <summary>
/// What generators and the tokenize stage need from any trained tokenizer, single- or multi-scale.
/// A token sequence holds every scale's indices concatenated coarse to fine, row-major within a scale:
/// its length is the sum of side*side over <see cref="Scales"/> (64 for a single-scale 8x8 grid; 1+4+9+16+36+64 = 130
/// for the multi-scale schedule 1,2,3,4,6,8).
/// </summary>
public interface IImageTokenizer
{
    /// <summary>"vq" (single scale) or "msvq" (multi-scale residual, VAR-style).</summary>
    string Kind { get; }

    /// <summary>Side length of each scale's token grid, coarse to fine; single-scale tokenizers have one.</summary>
    IReadOnlyList<int> Scales { get; }

    int CodebookSize { get; }

    /// <summary>Images (B, C, H, W) in [0, 1] to token ids (B, L), int64. No gradients.</summary>
    Tensor Encode(Tensor images_BCHW);

    /// <summary>Token ids (B, L) to images (B, C, H, W) in [0, 1]. No gradients.</summary>
    Tensor Decode(Tensor tokens_BL);
}
