using static TorchSharp.torch;

namespace Tessera.Trainers;

/// <summary>
/// Weight initialisation drawn from an explicit generator. TorchSharp's nn.init.uniform_/normal_ accept a generator
/// but draw from the process-wide RNG, so two models built at once on two threads (two ranks, two experiments in
/// one silo) interleaved their draws and got other weights than the same seed gives alone.
/// </summary>
public static class SeededInit
{
    /// <summary>Fills <paramref name="tensor"/> with U(-bound, bound) in place (call under no_grad).</summary>
    public static void Uniform(Tensor tensor, double bound, Generator generator) =>
        tensor.copy_((rand(tensor.shape, generator: generator, dtype: tensor.dtype, device: tensor.device) * 2 - 1) * bound);

    /// <summary>Fills <paramref name="tensor"/> with N(0, std^2) in place (call under no_grad).</summary>
    public static void Normal(Tensor tensor, double std, Generator generator) =>
        tensor.copy_(randn(tensor.shape, generator: generator, dtype: tensor.dtype, device: tensor.device) * std);
}
