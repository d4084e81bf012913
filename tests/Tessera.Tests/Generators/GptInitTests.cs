using Tessera.Trainers.Generators;
using TorchSharp;

namespace Tessera.Tests.Generators;

/// <summary>Initial weights depend on the model's own generator only, never on the global RNG (ranks build models concurrently).</summary>
[Collection(TorchCollection.Name)]
public class GptInitTests
{
    [Fact]
    public void InitialWeightsIgnoreTheGlobalSeed()
    {
        var config = new GeneratorConfig { SequenceLength = 10, CodebookSize = 16, Classes = 3, ModelDim = 16, Layers = 2, Heads = 2 };
        float[] Weights(int globalSeed)
        {
            using var generator = new torch.Generator(seed: 5);
            torch.manual_seed(globalSeed);
            using var model = new GptGenerator(config, generator);
            return model.parameters().SelectMany(p => p.detach().data<float>().ToArray()).ToArray();
        }
        Assert.Equal(Weights(1), Weights(2));
    }
}
