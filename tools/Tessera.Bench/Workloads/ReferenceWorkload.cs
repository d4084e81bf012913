using Tessera.Trainers.Distributed;
using TorchSharp;
using static TorchSharp.torch;

using Tessera.Trainers;

namespace Tessera.Bench.Workloads;

/// <summary>
/// REF-GPT or REF-VQ as a step workload: one fixed random batch on the device (drawn once, so the step times
/// forward, backward and AdamW only), AdamW at lr 3e-4, every step inside its own DisposeScope. The loss is read
/// once, after the last step, so no step pays for a scalar read it does not need.
/// </summary>
public sealed class ReferenceWorkload : IStepWorkload
{
    public const double LearningRate = 3e-4;

    private readonly nn.Module _model;
    private readonly optim.Optimizer _optimizer;
    private readonly Func<Tensor> _loss;
    private readonly Tensor[] _batch;
    private readonly GradientSync? _sync;

    private ReferenceWorkload(string name, int batchSize, int steps, nn.Module model, Device device, Tensor[] batch,
        Func<Tensor> loss, IReadOnlyDictionary<string, object> settings, DataParallel? parallel)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "need at least one step");
        Name = name;
        BatchSize = batchSize;
        Steps = steps;
        _model = model;
        _batch = batch;
        _loss = loss;
        Parameters = model.parameters().Sum(p => p.numel());
        _optimizer = optim.AdamW(model.parameters(), lr: LearningRate);
        _sync = DataParallel.Start(parallel, model.parameters()); // every rank starts from rank 0's weights
        Settings = new Dictionary<string, object>(settings)
        {
            ["optimizer"] = "AdamW", ["lr"] = LearningRate, ["device"] = device.ToString(),
        };
    }

    /// <summary>
    /// REF-GPT: batch 64 of random classes and 50 random tokens. With <paramref name="parallel"/>, one rank of a
    /// data-parallel group: its own 64 examples, gradients averaged with the other ranks' before each optimizer step.
    /// </summary>
    public static ReferenceWorkload Gpt(Device device, long seed, int steps, DataParallel? parallel = null)
    {
        const int batch = 64;
        torch.manual_seed(seed); // library-default initialisation draws from the global RNG
        var model = new RefGpt();
        model.to(device); // before the optimizer: to(device) replaces parameters
        using var g = new Generator((ulong)seed);
        var classes_B = randint(0, RefGpt.Classes, new long[] { batch }, generator: g).to(device);
        var tokens_BT = randint(0, RefGpt.Vocabulary, new long[] { batch, RefGpt.SequenceTokens }, generator: g).to(device);
        return new ReferenceWorkload("ref-gpt", batch, steps, model, device, [classes_B, tokens_BT], () => model.Loss(classes_B, tokens_BT),
            new Dictionary<string, object>
            {
                ["batch"] = batch, ["vocabulary"] = RefGpt.Vocabulary, ["positions"] = RefGpt.Positions, ["width"] = RefGpt.Width,
                ["layers"] = RefGpt.Layers, ["heads"] = RefGpt.Heads, ["mlp"] = RefGpt.MlpWidth,
            }, parallel);
    }

    /// <summary>REF-VQ: batch 128 of random 28x28 images in [0, 1); <paramref name="parallel"/> as for <see cref="Gpt"/>.</summary>
    public static ReferenceWorkload Vq(Device device, long seed, int steps, DataParallel? parallel = null)
    {
        const int batch = 128;
        torch.manual_seed(seed);
        var model = new RefVq();
        model.to(device);
        using var g = new Generator((ulong)seed);
        var images_B1HW = rand(new long[] { batch, 1, RefVq.ImageSide, RefVq.ImageSide }, generator: g).to(device);
        return new ReferenceWorkload("ref-vq", batch, steps, model, device, [images_B1HW], () => model.Loss(images_B1HW),
            new Dictionary<string, object>
            {
                ["batch"] = batch, ["image"] = $"1x{RefVq.ImageSide}x{RefVq.ImageSide}", ["codes"] = RefVq.Codes, ["code_dim"] = RefVq.CodeDim,
            }, parallel);
    }

    public string Name { get; }
    public int BatchSize { get; }
    public int Steps { get; }
    public long Parameters { get; }
    public IReadOnlyDictionary<string, object> Settings { get; }

    public double Run(Action<int> boundary)
    {
        _model.train();
        double last = double.NaN;
        for (int k = 0; k < Steps; k++)
        {
            boundary(k);
            using var scope = torch.NewDisposeScope();
            _optimizer.zero_grad();
            var loss = _loss();
            loss.backward();
            _sync?.AverageGradients();
            _optimizer.step();
            if (k == Steps - 1) last = loss.item<float>();
        }
        return last;
    }

    public void Dispose()
    {
        _sync?.Dispose();
        _optimizer.Dispose();
        _model.Dispose();
        foreach (var t in _batch) t.Dispose();
    }
}
