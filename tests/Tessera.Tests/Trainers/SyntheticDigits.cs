using Tessera.Infra.Data;
using Tessera.Trainers.Data;

namespace Tessera.Tests.Trainers;

/// <summary>
/// MNIST-like 28x28 images drawn in code, so tests need no dataset: each "class" is a stroke shape (ring, bar,
/// diagonal, cross, ...) with random position, size and thickness, bright strokes on black like MNIST.
/// </summary>
public static class SyntheticDigits
{
    public const int Side = 28;

    public static ImageBatch Batch(int count, int seed)
    {
        var rng = new Random(seed);
        var pixels = new byte[count * Side * Side];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = rng.Next(10);
            Draw(labels[i], rng, pixels.AsSpan(i * Side * Side, Side * Side));
        }
        return new ImageBatch(pixels, labels, count, 1, Side, Side);
    }

    private static void Draw(int label, Random rng, Span<byte> image)
    {
        double cx = 14 + rng.NextDouble() * 4 - 2, cy = 14 + rng.NextDouble() * 4 - 2;
        double size = 7 + rng.NextDouble() * 3, width = 1.2 + rng.NextDouble() * 0.8;
        for (int y = 0; y < Side; y++)
        for (int x = 0; x < Side; x++)
        {
            double dx = x - cx, dy = y - cy;
            double d = label switch
            {
                0 => Math.Abs(Math.Sqrt(dx * dx / 0.5 + dy * dy) - size),            // ring
                1 => Math.Abs(dx) + Math.Max(0, Math.Abs(dy) - size),                 // vertical bar
                2 => Segment(dx, dy, -size, -size, size, size),                       // diagonal
                3 => Math.Min(Math.Abs(dx) + Math.Max(0, Math.Abs(dy) - size),
                              Math.Abs(dy) + Math.Max(0, Math.Abs(dx) - size)),       // cross
                4 => Math.Abs(Math.Sqrt(dx * dx + dy * dy) - size / 2),               // small ring
                5 => Math.Min(Segment(dx, dy, -size, -size, size, -size),
                              Segment(dx, dy, size, -size, -size, size)),             // seven
                6 => Math.Abs(dy) + Math.Max(0, Math.Abs(dx) - size),                 // horizontal bar
                7 => Math.Min(Segment(dx, dy, -size, size, 0, -size),
                              Segment(dx, dy, 0, -size, size, size)),                 // caret
                8 => Math.Min(Math.Abs(Math.Sqrt(dx * dx + (dy + size / 2) * (dy + size / 2)) - size / 2),
                              Math.Abs(Math.Sqrt(dx * dx + (dy - size / 2) * (dy - size / 2)) - size / 2)), // eight
                _ => Segment(dx, dy, size, -size, -size, size),                       // other diagonal
            };
            double v = Math.Clamp(1.5 - d / width, 0, 1); // soft-edged stroke
            image[y * Side + x] = (byte)Math.Round(v * 255);
        }
    }

    private static double Segment(double px, double py, double ax, double ay, double bx, double by)
    {
        double vx = bx - ax, vy = by - ay;
        double t = Math.Clamp(((px - ax) * vx + (py - ay) * vy) / (vx * vx + vy * vy), 0, 1);
        double ex = px - (ax + t * vx), ey = py - (ay + t * vy);
        return Math.Sqrt(ex * ex + ey * ey);
    }
}

/// <summary>Endless deterministic batches of synthetic digits: a seeded reshuffle of a fixed pool per epoch.</summary>
public sealed class SyntheticDigitSource : IBatchSource
{
    private readonly ImageBatch _pool;
    private readonly Random _rng;
    private int[] _order = [];
    private int _position;

    public SyntheticDigitSource(int poolSize, int seed)
    {
        _pool = SyntheticDigits.Batch(poolSize, seed);
        _rng = new Random(seed + 1);
        Reshuffle();
    }

    public ImageBatch Next(int batchSize)
    {
        var picks = new int[batchSize];
        for (int i = 0; i < batchSize; i++)
        {
            if (_position == _order.Length) Reshuffle();
            picks[i] = _order[_position++];
        }
        return Tessera.Trainers.Tokenizers.ImageTensors.Select(_pool, picks);
    }

    private void Reshuffle()
    {
        _order = Enumerable.Range(0, _pool.Count).ToArray();
        _rng.Shuffle(_order);
        _position = 0;
    }
}
