using Tessera.Infra.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers.Tokenizers;

/// <summary>Batched, gradient-free tokenizing and picture helpers for the tokenize stage and reports.</summary>
public static class TokenizerInference
{
    /// <summary>Images per forward pass: large enough to amortise per-call overhead, small enough for a few MB of activations.</summary>
    public const int DefaultBatchSize = 500;

    /// <summary>
    /// Tokens of every image, row-major (N, L) flattened: image i's tokens are [i*L, (i+1)*L), all scales coarse
    /// to fine. Runs in inference mode; the model is left in eval mode.
    /// </summary>
    public static int[] Tokenize(TokenizerModel tokenizer, ImageBatch images, Device device, int batchSize = DefaultBatchSize)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(images);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be positive");
        tokenizer.RequireShape(images, nameof(images));
        int perImage = tokenizer.TokenCount;
        var tokens = new int[(long)images.Count * perImage];
        tokenizer.eval();
        using var inference = inference_mode();
        for (int start = 0; start < images.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            int count = Math.Min(batchSize, images.Count - start);
            var x_BCHW = ImageTensors.ToTensor(ImageTensors.Slice(images, start, count), device);
            var tokens_BL = tokenizer.Encode(x_BCHW).to(int32).cpu();
            tokens_BL.data<int>().CopyTo(tokens, start * perImage);
        }
        return tokens;
    }

    /// <summary>
    /// Coarse-to-fine reconstructions of <paramref name="images"/>: element k (0-based) decodes scales 1..k+1 only,
    /// so the last equals the full reconstruction. A single-scale tokenizer gives one element. One row per scale in
    /// a picture grid.
    /// </summary>
    public static IReadOnlyList<ImageBatch> CoarseToFine(TokenizerModel tokenizer, ImageBatch images, Device device)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(images);
        tokenizer.RequireShape(images, nameof(images));
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var x_BCHW = ImageTensors.ToTensor(images, device);
        var tokens_BL = tokenizer.Encode(x_BCHW);
        if (tokenizer is not MsVqTokenizer multi) return new[] { ImageTensors.ToImageBatch(tokenizer.Decode(tokens_BL), images.Labels) };
        var recon_KBCHW = multi.DecodeCoarseToFine(tokens_BL);
        return Enumerable.Range(0, (int)recon_KBCHW.shape[0])
            .Select(k => ImageTensors.ToImageBatch(recon_KBCHW[k], (int[])images.Labels.Clone()))
            .ToArray();
    }
}
