namespace Tessera.Infra.Data;

/// <summary>
/// A batch of images as the data plane hands it to a worker: raw 8-bit pixels laid out (N, C, H, W) and
/// one class label per image. Workers turn it into float tensors in [0, 1] on their own thread.
/// </summary>
public sealed record ImageBatch(byte[] Pixels, int[] Labels, int Count, int Channels, int Height, int Width)
{
    public int PixelsPerImage => Channels * Height * Width;
}
