using Tessera.Infra.Data;
using Tessera.Trainers.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers.Inference;

/// <summary>Encodes whole image sets into token sequences with a trained tokenizer: batched, no gradients.</summary>
public static class TokenEncoder
{
    /// <summary>
    /// Token ids of every image, (Count x L) row-major, where L is the tokenizer's sequence length.
    /// Each batch runs in its own DisposeScope on the caller's thread.
    /// </summary>
    public static int[] Encode(IImageTokenizer tokenizer, ImageBatch images, Device device, int batchSize,
        Action<int>? onBatch = null, CancellationToken ct = default)
    {
        int length = tokenizer.Scales.Sum(s => s * s);
        var tokens = new int[images.Count * length];
        using var noGrad = torch.no_grad();
        for (int start = 0; start < images.Count; start += batchSize)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            int count = Math.Min(batchSize, images.Count - start);
            var pixels_BCHW = torch.tensor(images.Pixels.AsSpan(start * images.PixelsPerImage, count * images.PixelsPerImage).ToArray(),
                    new long[] { count, images.Channels, images.Height, images.Width })
                .to(device).to(ScalarType.Float32).div_(255f);
            var tokens_BL = tokenizer.Encode(pixels_BCHW).to(ScalarType.Int32).cpu();  // (B, L)
            tokens_BL.data<int>().CopyTo(tokens.AsSpan(start * length, count * length));
            onBatch?.Invoke(start + count);
        }
        return tokens;
    }
}
