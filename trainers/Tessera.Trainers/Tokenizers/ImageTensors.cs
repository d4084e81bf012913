using Tessera.Infra.Data;
using static TorchSharp.torch;

namespace Tessera.Trainers.Tokenizers;

/// <summary>Conversions between <see cref="ImageBatch"/> bytes and float image tensors in [0, 1].</summary>
public static class ImageTensors
{
    /// <summary>Bytes (N, C, H, W) -> float32 tensor in [0, 1] on <paramref name="device"/>.</summary>
    public static Tensor ToTensor(ImageBatch batch, Device device)
    {
        if (batch.Pixels.Length != (long)batch.Count * batch.PixelsPerImage)
            throw new ArgumentException($"batch holds {batch.Pixels.Length} bytes, expected {batch.Count} x {batch.PixelsPerImage}");
        using var bytes = tensor(batch.Pixels, new long[] { batch.Count, batch.Channels, batch.Height, batch.Width }, dtype: ScalarType.Byte);
        return bytes.to(float32).div_(255f).to(device);
    }

    /// <summary>Float images (N, C, H, W) in [0, 1] -> bytes (rounded, clamped), with the given labels.</summary>
    public static ImageBatch ToImageBatch(Tensor images_NCHW, int[] labels)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var shape = images_NCHW.shape;
        if (shape.Length != 4) throw new ArgumentException("expected (N, C, H, W)", nameof(images_NCHW));
        if (labels.Length != shape[0]) throw new ArgumentException($"{labels.Length} labels for {shape[0]} images", nameof(labels));
        var bytes = images_NCHW.detach().cpu().to(float32).mul(255f).round().clamp(0, 255).to(ScalarType.Byte);
        return new ImageBatch(bytes.data<byte>().ToArray(), labels, (int)shape[0], (int)shape[1], (int)shape[2], (int)shape[3]);
    }

    /// <summary>The images at <paramref name="indices"/>, in that order.</summary>
    public static ImageBatch Select(ImageBatch batch, IReadOnlyList<int> indices)
    {
        int per = batch.PixelsPerImage;
        var pixels = new byte[indices.Count * per];
        var labels = new int[indices.Count];
        for (int i = 0; i < indices.Count; i++)
        {
            Array.Copy(batch.Pixels, (long)indices[i] * per, pixels, (long)i * per, per);
            labels[i] = batch.Labels[indices[i]];
        }
        return new ImageBatch(pixels, labels, indices.Count, batch.Channels, batch.Height, batch.Width);
    }

    /// <summary>Images [start, start + count).</summary>
    public static ImageBatch Slice(ImageBatch batch, int start, int count) =>
        Select(batch, Enumerable.Range(start, count).ToArray());

    /// <summary><paramref name="count"/> indices spread evenly over <paramref name="total"/> images (all if fewer).</summary>
    public static int[] SpreadIndices(int total, int count)
    {
        count = Math.Min(count, total);
        return Enumerable.Range(0, count).Select(i => (int)((long)i * total / count)).ToArray();
    }
}
