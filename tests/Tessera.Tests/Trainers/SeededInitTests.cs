using Tessera.Trainers;
using Tessera.Trainers.Evaluation;
using Tessera.Trainers.Generators;
using Tessera.Trainers.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Tests.Trainers;

/// <summary>
/// A seed fixes a model's initial weights whatever else the process does: another thread drawing from the global RNG
/// the whole time (as a second rank or a second experiment does) must not change them.
/// </summary>
[Collection(TorchCollection.Name)]
public class SeededInitTests
{
    public SeededInitTests() => TorchRuntime.Initialize(2);

    static float[] Weights(Func<Generator, nn.Module> build)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(42);
        using var model = build(g);
        return model.parameters().SelectMany(p => p.detach().reshape(-1).data<float>().ToArray()).ToArray();
    }

    public static TheoryData<string> Models => new() { "tokenizer", "msvq", "classifier", "gpt" };

    static nn.Module Build(string kind, Generator g) => kind switch
    {
        "tokenizer" => new VqTokenizer(new VqTokenizerConfig { ImageSize = 28, ImageChannels = 1, HiddenChannels = 8, LatentChannels = 8 }, g),
        "msvq" => new MsVqTokenizer(new VqTokenizerConfig { Kind = VqTokenizerConfig.KindMsVq, ImageSize = 28, ImageChannels = 1, HiddenChannels = 8, LatentChannels = 8 }, g),
        "classifier" => new DigitClassifier(new DigitClassifierConfig { ImageChannels = 1, Channels = 4, FeatureDim = 8 }, g),
        _ => new GptGenerator(new GeneratorConfig { SequenceLength = 49, ModelDim = 16, Layers = 1, Heads = 2 }, g),
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void InitialWeightsIgnoreTheGlobalRng(string kind)
    {
        float[] alone = Weights(g => Build(kind, g));
        using var stop = new CancellationTokenSource();
        var noise = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var scope = NewDisposeScope();
                manual_seed(Environment.TickCount);
                rand(4096).Dispose();
            }
        });
        noise.Start();
        try
        {
            for (int trial = 0; trial < 3; trial++)
                Assert.Equal(alone, Weights(g => Build(kind, g)));
        }
        finally
        {
            stop.Cancel();
            noise.Join();
        }
    }
}
