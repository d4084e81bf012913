using Tessera.Collective;
using Tessera.Stages;
using Tessera.Trainers.Distributed;
using Tessera.Trainers.Generators;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Tests.Distributed;

/// <summary>
/// The data-parallel contract: 2 ranks with batch B each, averaging gradients over the real gRPC ring, end with
/// the same weights as 1 rank with batch 2B (fp32, no compression, dropout off so the math is identical).
/// </summary>
[Collection(TorchCollection.Name)]
public class DataParallelEquivalenceTests
{
    const int Steps = 4, PerRank = 6;
    static readonly GeneratorConfig Config = new()
    {
        SequenceLength = 10, CodebookSize = 16, Classes = 3, ModelDim = 16, Layers = 2, Heads = 2,
        Dropout = 0, ClassDropout = 0,
    };

    [Fact]
    public async Task TwoRanksOfBatchBMatchOneRankOfBatch2B()
    {
        var data = new Random(11);
        long[] tokens = Enumerable.Range(0, 2 * PerRank * Config.SequenceLength).Select(_ => (long)data.Next(Config.CodebookSize)).ToArray();
        long[] classes = Enumerable.Range(0, 2 * PerRank).Select(i => (long)(i % Config.Classes)).ToArray();

        float[] init = Train(tokens, classes, 0, 2 * PerRank, sync: null, steps: 0);
        float[] single = Train(tokens, classes, 0, 2 * PerRank, sync: null, init: init);

        await using var cluster = await LoopbackCluster.StartAsync(2);
        var rings = await Task.WhenAll(Enumerable.Range(0, 2).Select(r => cluster.Hub(r).JoinAsync(cluster.Group(r, "equivalence", "s3cret"))));
        try
        {
            // Each rank trains on its own thread, as workers do; rank 1 starts from other weights that the broadcast replaces.
            var ranks = Enumerable.Range(0, 2).Select(r => Task.Factory.StartNew(
                () => Train(tokens, classes, r * PerRank, PerRank, new RingGradientReducer(rings[r], CancellationToken.None), seed: 5 + r,
                    init: r == 0 ? init : null),
                TaskCreationOptions.LongRunning)).ToArray();
            float[][] replicas = await Task.WhenAll(ranks);

            Assert.Equal(replicas[0], replicas[1]); // every rank holds identical weights after every step
            double difference = Math.Sqrt(single.Zip(replicas[0], (a, b) => (double)(a - b) * (a - b)).Sum());
            double relative = difference / Math.Sqrt(single.Sum(a => (double)a * a));
            Assert.True(relative < 1e-5, $"relative difference ||single - replica|| / ||single|| = {relative}");
            Assert.NotEqual(init, single); // training moved the weights
        }
        finally
        {
            foreach (var ring in rings) await ring.DisposeAsync();
        }
    }

    /// <summary>
    /// Re-forming on fewer ranks (min_workers): a stage of W workers on k &lt; W ranks, each rank accumulating the
    /// gradients of its workers' slices (<see cref="GradientAccumulation"/>), ends with the same weights as on W ranks
    /// and as one rank on the whole batch. Checked for workers 2 on 1 rank, 2 on 2, and 4 on 2 (rank r runs workers
    /// r and r + 2, so its rows are not contiguous).
    /// </summary>
    [Fact]
    public async Task FewerRanksAccumulatingGradientsMatchTheFullGroup()
    {
        const int Batch = 4 * PerRank;
        var data = new Random(12);
        long[] tokens = Enumerable.Range(0, Batch * Config.SequenceLength).Select(_ => (long)data.Next(Config.CodebookSize)).ToArray();
        long[] classes = Enumerable.Range(0, Batch).Select(i => (long)(i % Config.Classes)).ToArray();
        float[] init = Train(tokens, classes, 0, Batch, sync: null, steps: 0);

        float[] single = TrainSlices(tokens, classes, parallel: null, init);
        float[] twoOnOne = TrainSlices(tokens, classes, new DataParallel(0, 1, SoloReducer.Instance, Workers: 2), init);
        float[][] twoOnTwo = await OnRing(2, (rank, reducer) => TrainSlices(tokens, classes, new DataParallel(rank, 2, reducer, Workers: 2), init));
        float[][] fourOnTwo = await OnRing(2, (rank, reducer) => TrainSlices(tokens, classes, new DataParallel(rank, 2, reducer, Workers: 4), init));

        Assert.NotEqual(init, single);
        AssertClose(single, twoOnOne, "workers 2 on 1 rank");
        AssertClose(single, twoOnTwo[0], "workers 2 on 2 ranks");
        AssertClose(single, fourOnTwo[0], "workers 4 on 2 ranks");
        Assert.Equal(fourOnTwo[0], fourOnTwo[1]);
    }

    static void AssertClose(float[] expected, float[] actual, string what)
    {
        double difference = Math.Sqrt(expected.Zip(actual, (a, b) => (double)(a - b) * (a - b)).Sum());
        double relative = difference / Math.Sqrt(expected.Sum(a => (double)a * a));
        Assert.True(relative < 1e-5, $"{what}: relative difference ||single - replica|| / ||single|| = {relative}");
    }

    /// <summary>Runs <paramref name="train"/> as each of <paramref name="ranks"/> ranks over a real loopback gRPC ring, each on its own thread.</summary>
    internal static async Task<float[][]> OnRing(int ranks, Func<int, IGradientReducer, float[]> train)
    {
        await using var cluster = await LoopbackCluster.StartAsync(ranks);
        var rings = await Task.WhenAll(Enumerable.Range(0, ranks).Select(r => cluster.Hub(r).JoinAsync(cluster.Group(r, "accumulation", "s3cret"))));
        try
        {
            return await Task.WhenAll(Enumerable.Range(0, ranks).Select(r => Task.Factory.StartNew(
                () => train(r, new RingGradientReducer(rings[r], CancellationToken.None)), TaskCreationOptions.LongRunning)));
        }
        finally
        {
            foreach (var ring in rings) await ring.DisposeAsync();
        }
    }

    /// <summary>
    /// SGD as <see cref="Train"/>, but the way the trainers step: this rank's rows of the global batch
    /// (<see cref="GradientAccumulation.GlobalRows"/>), forward and backward per micro-batch, gradients averaged over the ring.
    /// </summary>
    static float[] TrainSlices(long[] tokens, long[] classes, DataParallel? parallel, float[] init)
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new torch.Generator(seed: 5);
        var model = new GptGenerator(Config, generator);
        Load(model, init);
        var optimizer = optim.SGD(model.parameters(), learningRate: 0.1, momentum: 0.9);
        using var sync = DataParallel.Start(parallel, model.parameters());
        int batch = classes.Length;
        var rows = tensor(GradientAccumulation.GlobalRows(parallel, batch).Select(r => (long)r).ToArray());
        var tokens_BN = tensor(tokens, new long[] { batch, Config.SequenceLength }).index_select(0, rows);
        var classes_B = tensor(classes).index_select(0, rows);
        for (int step = 0; step < Steps; step++)
        {
            using var stepScope = torch.NewDisposeScope();
            optimizer.zero_grad();
            GradientAccumulation.Backward(parallel, batch, micro =>
            {
                var part_BN = tokens_BN.narrow(0, micro.Start, micro.Count);
                var logits_BNV = model.Forward(classes_B.narrow(0, micro.Start, micro.Count), part_BN.narrow(1, 0, Config.SequenceLength - 1));
                return nn.functional.cross_entropy(logits_BNV.reshape(-1, Config.CodebookSize), part_BN.reshape(-1));
            });
            sync?.AverageGradients();
            optimizer.step();
        }
        return model.parameters().SelectMany(p => p.detach().cpu().data<float>().ToArray()).ToArray();
    }

    /// <summary>SGD on rows [start, start+count) for a few steps from <paramref name="init"/>; returns the flattened weights.</summary>
    static float[] Train(long[] tokens, long[] classes, int start, int count, IGradientReducer? sync, int seed = 5, int steps = Steps,
        float[]? init = null)
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new torch.Generator(seed: (ulong)seed);
        var model = new GptGenerator(Config, generator);
        if (init is not null) Load(model, init);
        // SGD with momentum: linear in the gradients, so fp32 rounding stays at rounding size. (Adam divides by
        // sqrt(v), which turns rounding noise on near-zero gradients into full-size steps, for any implementation.)
        var optimizer = optim.SGD(model.parameters(), learningRate: 0.1, momentum: 0.9);
        using var gradients = sync is null ? null : new GradientSync(model.parameters(), sync);
        gradients?.BroadcastParameters();
        var tokens_BN = tensor(tokens, new long[] { tokens.Length / Config.SequenceLength, Config.SequenceLength }).narrow(0, start, count);
        var classes_B = tensor(classes).narrow(0, start, count);
        for (int step = 0; step < steps; step++)
        {
            using var stepScope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var logits_BNV = model.Forward(classes_B, tokens_BN.narrow(1, 0, Config.SequenceLength - 1));
            var loss = nn.functional.cross_entropy(logits_BNV.reshape(-1, Config.CodebookSize), tokens_BN.reshape(-1));
            loss.backward();
            gradients?.AverageGradients();
            optimizer.step();
        }
        return model.parameters().SelectMany(p => p.detach().cpu().data<float>().ToArray()).ToArray();
    }

    static void Load(nn.Module model, float[] weights)
    {
        using var noGrad = torch.no_grad();
        int offset = 0;
        foreach (var p in model.parameters())
        {
            int n = (int)p.numel();
            p.copy_(tensor(weights[offset..(offset + n)]).view_as(p));
            offset += n;
        }
    }
}
