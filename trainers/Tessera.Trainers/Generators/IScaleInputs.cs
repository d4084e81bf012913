using static TorchSharp.torch;

namespace Tessera.Trainers.Generators;

/// <summary>
/// What a next-scale (VAR) generator needs from a multi-scale residual tokenizer: the continuous input for
/// each scale after the first, i.e. <c>area_downsample(f_hat_so_far, side_{k+1})</c> in code space,
/// flattened row-major. The multi-scale tokenizer implements this; tests use a stand-in.
/// </summary>
public interface IScaleInputs
{
    /// <summary>Side of each scale's token grid, coarse to fine (e.g. 1,2,3,4,6,8).</summary>
    IReadOnlyList<int> Scales { get; }

    /// <summary>Width of one input vector (the tokenizer's code dimension).</summary>
    int InputDim { get; }

    /// <summary>
    /// Teacher forcing: token ids (B, L) of all scales concatenated -> inputs (B, L - side_0^2, InputDim) for
    /// every position of scales 2..K, each computed from the tokens of the scales before it.
    /// </summary>
    Tensor TeacherForcingInputs(Tensor tokens_BL);

    /// <summary>
    /// Generation: the tokens of scales 1..k (B, sum of side^2 up to k) -> the input (B, side_{k+1}^2, InputDim)
    /// for scale k+1.
    /// </summary>
    Tensor NextScaleInput(Tensor tokensSoFar_BLk);

    /// <summary>
    /// Generation one scale after another, as a sampler runs it: a cursor whose <see cref="IScaleInputCursor.Next"/>
    /// gives what <see cref="NextScaleInput"/> gives. A source that can keep its running state between scales (the
    /// multi-scale tokenizer keeps f_hat) overrides this, so each scale costs one scale's work instead of all so far.
    /// </summary>
    IScaleInputCursor StartGeneration() => new RecomputingCursor(this);

    private sealed class RecomputingCursor(IScaleInputs inputs) : IScaleInputCursor
    {
        public Tensor Next(Tensor tokensSoFar_BLk) => inputs.NextScaleInput(tokensSoFar_BLk);
        public void Dispose() { }
    }
}

/// <summary>The inputs of one generation's scales, in order; see <see cref="IScaleInputs.StartGeneration"/>.</summary>
public interface IScaleInputCursor : IDisposable
{
    /// <summary>
    /// The tokens of scales 1..k (B, sum of side^2 up to k), k one more than at the previous call (1 at the first) ->
    /// the input (B, side_{k+1}^2, InputDim) for scale k+1.
    /// </summary>
    Tensor Next(Tensor tokensSoFar_BLk);
}
