using Tessera.Infra.Data;
using Tessera.Trainers.Data;

namespace Tessera.Tests.Trainers;

/// <summary>
/// RGB images of any side drawn in code, so shape tests need no dataset: each class is a disc of its own hue at a
/// random place and size on a dim background of random tint, with a little pixel noise. A class can be told by
/// colour and shape alike, so a small classifier learns it in a few dozen steps.
/// </summary>
public static class SyntheticColour
{
    public const int Classes = 4;
    static readonly (double R, double G, double B)[] Hues = [(1, 0.2, 0.2), (0.2, 1, 0.2), (0.2, 0.3, 1), (1, 1, 0.2)];

    /// <param name="classOf">Class of image i (default: uniform at random).</param>
    public static ImageBatch Batch(int count, int side, int seed, Func<int, int>? classOf = null)
    {
        var rng = new Random(seed);
        int plane = side * side;
        var pixels = new byte[count * 3 * plane];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            int label = labels[i] = classOf?.Invoke(i) ?? rng.Next(Classes);
            double cx = side * (0.3 + 0.4 * rng.NextDouble()), cy = side * (0.3 + 0.4 * rng.NextDouble());
            double radius = side * (0.15 + 0.1 * rng.NextDouble());
            var tint = (R: 0.3 * rng.NextDouble(), G: 0.3 * rng.NextDouble(), B: 0.3 * rng.NextDouble());
            var hue = Hues[label];
            for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++)
            {
                double inside = Math.Clamp(radius - Math.Sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy)) + 0.5, 0, 1);
                double[] rgb = [tint.R + inside * (hue.R - tint.R), tint.G + inside * (hue.G - tint.G), tint.B + inside * (hue.B - tint.B)];
                for (int c = 0; c < 3; c++)
                    pixels[(long)i * 3 * plane + c * plane + y * side + x] = (byte)Math.Clamp(Math.Round(255 * rgb[c] + rng.Next(-8, 9)), 0, 255);
            }
        }
        return new ImageBatch(pixels, labels, count, 3, side, side);
    }

    /// <summary>Endless batches cycling through a fixed pool in order; deterministic and cheap.</summary>
    public sealed class Source(ImageBatch pool) : IBatchSource
    {
        private int _next;

        public ImageBatch Next(int batchSize)
        {
            var picks = Enumerable.Range(_next, batchSize).Select(i => i % pool.Count).ToArray();
            _next = (_next + batchSize) % pool.Count;
            return Tessera.Trainers.Tokenizers.ImageTensors.Select(pool, picks);
        }
    }
}
