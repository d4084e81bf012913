using System.Diagnostics;
using Tessera.Infra.Data;
using Tessera.Trainers.Generators;
using Tessera.Trainers.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers.Inference;

/// <summary>Generated images and how fast they came: the time covers token sampling and decoding.</summary>
public sealed record SampledImages(ImageBatch Images, double Seconds)
{
    public double SamplesPerSecond => Images.Count / Math.Max(Seconds, 1e-9);
}

/// <summary>Class-conditional images from a generator and the tokenizer it was trained on, in batches.</summary>
public static class ImageSampler
{
    /// <summary>
    /// <paramref name="perClass"/> samples of each class in <paramref name="classes"/>, grouped by class in that
    /// order; seeded, so the same arguments give the same images.
    /// </summary>
    public static SampledImages Generate(TokenGenerator generator, IImageTokenizer tokenizer, IReadOnlyList<int> classes,
        int perClass, SamplingOptions options, long seed, int batchSize, CancellationToken ct = default)
    {
        using var noGrad = torch.no_grad();
        int[] wanted = classes.SelectMany(c => Enumerable.Repeat(c, perClass)).ToArray();
        var device = generator.Device;
        using var random = new torch.Generator((ulong)seed, device);
        var batches = new List<ImageBatch>();
        var clock = Stopwatch.StartNew();
        for (int start = 0; start < wanted.Length; start += batchSize)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            int[] batchClasses = wanted[start..Math.Min(start + batchSize, wanted.Length)];
            var tokens_BN = generator.Generate(batchClasses, options, random);
            var images_BCHW = tokenizer.Decode(tokens_BN);
            batches.Add(ImageTensors.ToImageBatch(images_BCHW, batchClasses));
        }
        double seconds = clock.Elapsed.TotalSeconds;
        return new SampledImages(Concatenate(batches), seconds);
    }

    /// <summary>Rows of a picture: one <see cref="ImageBatch"/> per class, for grids with a class per row.</summary>
    public static IReadOnlyList<ImageBatch> RowsPerClass(ImageBatch grouped, int perClass, int columns) =>
        Enumerable.Range(0, grouped.Count / perClass)
            .Select(row => ImageTensors.Slice(grouped, row * perClass, Math.Min(columns, perClass)))
            .ToList();

    static ImageBatch Concatenate(IReadOnlyList<ImageBatch> batches)
    {
        var first = batches[0];
        return new ImageBatch(batches.SelectMany(b => b.Pixels).ToArray(), batches.SelectMany(b => b.Labels).ToArray(),
            batches.Sum(b => b.Count), first.Channels, first.Height, first.Width);
    }
}
