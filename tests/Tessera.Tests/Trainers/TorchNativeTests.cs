using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Tests.Trainers;

/// <summary>The build's patched copy of libLibTorchSharp loads here, and libtorch actually trains.</summary>
[Collection(TorchCollection.Name)]
public class TorchNativeTests
{
    [Fact]
    public void PatchedNativeLibraryLoadsAndTinyMlpLearns()
    {
        torch.manual_seed(7);
        using var scope = torch.NewDisposeScope();
        var model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1));
        var optimizer = optim.Adam(model.parameters(), lr: 0.05);
        var x = torch.rand(256, 2) * 2 - 1;
        var y = (x[.., 0] * x[.., 1]).unsqueeze(1); // XOR-like target no linear model fits
        float first = 0, last = 0;
        for (int step = 0; step < 200; step++)
        {
            using var stepScope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(model.forward(x), y);
            loss.backward();
            optimizer.step();
            if (step == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        Assert.True(last < first * 0.2f, $"loss went from {first} to {last}");
    }
}
