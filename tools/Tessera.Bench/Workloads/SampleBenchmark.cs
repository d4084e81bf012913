using System.Diagnostics;
using Tessera.Trainers.Generators;
using Tessera.Trainers.Tokenizers;
using static TorchSharp.torch;

using Tessera.Trainers;

namespace Tessera.Bench.Workloads;

/// <summary>One sampling measurement: images (token maps) per second, median over the timed repeats.</summary>
/// <param name="Mode">"kv-cache" or "uncached" (the prefix re-run every pass), for either generator.</param>
/// <param name="Cfg">Guidance scale, or null for guidance-free sampling (half the forward rows).</param>
/// <param name="ForwardPasses">Model calls per batch: one per token for the GPT, one per scale for VAR.</param>
/// <param name="InputsShare">VAR only: share of the time spent building the next scale's inputs in the tokenizer.</param>
/// <param name="CpuSeconds">Median process CPU time per batch: what survives other processes competing for the cores.</param>
/// <param name="TensorsPerBatch">Tensor handles created per batch on this thread (TorchSharp's dispose-scope statistics):
/// a count of native results, which load does not move.</param>
/// <param name="Window">The timed batches on the monotonic clock, for cutting a profile to them.</param>
public sealed record SampleResult(string Generator, string Mode, double? Cfg, int Batch, int Repeats, double MedianSeconds,
    double ImagesPerSecond, double CpuSeconds, long TensorsPerBatch, int ForwardPasses, double? InputsShare, double[] Seconds, TimedWindow Window);

/// <summary>
/// Times generation of whole token maps with the project's samplers (<see cref="GptSampler"/>, <see cref="VarSampler"/>):
/// untimed warm-up batches for a second, then <c>repeats</c> timed batches. Decoding tokens to pixels is left out: it is the
/// tokenizer's cost, not the generator's, and differs between the two tokenizer kinds.
/// </summary>
public static class SampleBenchmark
{
    public static SampleResult Gpt(GptGenerator model, bool kvCache, double? cfg, int batch, int repeats, long seed)
    {
        var classes = Classes(batch, model.Config.Classes);
        var options = new SamplingOptions(CfgScale: cfg);
        using var generator = new Generator((ulong)seed);
        var timing = Time(repeats, () => GptSampler.Generate(model, classes, options, generator, kvCache));
        return Result("gpt", kvCache ? "kv-cache" : "uncached", cfg, batch, timing, model.SequenceLength, null);
    }

    public static SampleResult Var(VarGenerator model, MsVqTokenizer tokenizer, bool kvCache, double? cfg, int batch, int repeats, long seed)
    {
        var classes = Classes(batch, model.Config.Classes);
        var options = new SamplingOptions(CfgScale: cfg);
        using var generator = new Generator((ulong)seed);
        var inputs = new TokenizerScaleInputs(tokenizer);
        var timing = Time(repeats, () => VarSampler.Generate(model, inputs, classes, options, generator, kvCache), inputs.Reset);
        double share = inputs.Elapsed.TotalSeconds / timing.Seconds.Sum();
        return Result("var", kvCache ? "kv-cache" : "uncached", cfg, batch, timing, model.Config.Scales.Length, share);
    }

    private static int[] Classes(int batch, int classes) => Enumerable.Range(0, batch).Select(i => i % classes).ToArray();

    private sealed record Timing(double[] Seconds, double[] CpuSeconds, long TensorsPerBatch, TimedWindow Window);

    private static Timing Time(int repeats, Func<Tensor> generate, Action? afterWarmup = null)
    {
        if (repeats < 1) throw new ArgumentOutOfRangeException(nameof(repeats), repeats, "need at least one timed batch");
        // Warm up for a second (at least one batch): .NET re-compiles hot methods in tiers over the first ~100 ms of calls
        // and libtorch sizes its caches, neither of which a steady sampler pays.
        long warmup = Stopwatch.GetTimestamp();
        do generate().Dispose(); while (Stopwatch.GetElapsedTime(warmup).TotalSeconds < 1);
        afterWarmup?.Invoke();
        var seconds = new double[repeats];
        var cpuSeconds = new double[repeats];
        long tensors = StepBenchmark.TensorsCreated();
        long first = Stopwatch.GetTimestamp(), last = first;
        for (int i = 0; i < repeats; i++)
        {
            long start = Stopwatch.GetTimestamp();
            var cpu = Environment.CpuUsage.TotalTime;
            generate().Dispose();
            cpuSeconds[i] = (Environment.CpuUsage.TotalTime - cpu).TotalSeconds;
            last = Stopwatch.GetTimestamp();
            seconds[i] = Stopwatch.GetElapsedTime(start, last).TotalSeconds;
        }
        tensors = (StepBenchmark.TensorsCreated() - tensors) / repeats;
        return new Timing(seconds, cpuSeconds, tensors, new TimedWindow(TimedWindow.Nanoseconds(first), TimedWindow.Nanoseconds(last)));
    }

    private static SampleResult Result(string generator, string mode, double? cfg, int batch, Timing timing, int passes, double? share)
    {
        double median = StepBenchmark.Percentile(timing.Seconds.Order().ToArray(), 0.5);
        double cpu = StepBenchmark.Percentile(timing.CpuSeconds.Order().ToArray(), 0.5);
        return new SampleResult(generator, mode, cfg, batch, timing.Seconds.Length, median, batch / median, cpu, timing.TensorsPerBatch, passes, share, timing.Seconds, timing.Window);
    }

    /// <summary>The tokenizer's own scale inputs, timed, so the bench can say what share of VAR sampling they take.</summary>
    private sealed class TokenizerScaleInputs(MsVqTokenizer tokenizer) : IScaleInputs
    {
        private readonly IScaleInputs _inner = tokenizer.ScaleInputs;
        private long _ticks;

        public IReadOnlyList<int> Scales => _inner.Scales;
        public int InputDim => _inner.InputDim;
        public TimeSpan Elapsed => Stopwatch.GetElapsedTime(0, _ticks);

        public void Reset() => _ticks = 0;

        public Tensor TeacherForcingInputs(Tensor tokens_BL) => _inner.TeacherForcingInputs(tokens_BL);

        public Tensor NextScaleInput(Tensor tokensSoFar_BLk) => Timed(() => _inner.NextScaleInput(tokensSoFar_BLk));

        public IScaleInputCursor StartGeneration() => new TimedCursor(this, _inner.StartGeneration());

        private Tensor Timed(Func<Tensor> input)
        {
            long start = Stopwatch.GetTimestamp();
            var result = input();
            _ticks += Stopwatch.GetTimestamp() - start;
            return result;
        }

        private sealed class TimedCursor(TokenizerScaleInputs owner, IScaleInputCursor inner) : IScaleInputCursor
        {
            public Tensor Next(Tensor tokensSoFar_BLk) => owner.Timed(() => inner.Next(tokensSoFar_BLk));
            public void Dispose() => inner.Dispose();
        }
    }
}
