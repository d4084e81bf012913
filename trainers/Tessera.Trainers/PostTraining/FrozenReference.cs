using Tessera.Trainers.Generators;
using static TorchSharp.torch;

namespace Tessera.Trainers.PostTraining;

/// <summary>
/// A frozen copy of a generator, the reference every post-training objective measures the policy against. Its own
/// weights (training the source leaves it unchanged), no gradients (<c>requires_grad = false</c>, log-probabilities
/// computed under <c>no_grad</c>), never in an optimizer, and dropout off (eval mode), as ../shared/algorithms.md has
/// it: the CCA source builds its models with dropout 0 (thu-ml/CCA <c>VAR_finetune.py</c>; it keeps VAR's drop-path,
/// which these models do not have) and trl's DPO disables dropout in model and reference (<c>disable_dropout=True</c>),
/// so the reference's log-probability of a sequence is one number, not a draw.
/// </summary>
public sealed class FrozenReference : IDisposable
{
    private readonly TokenGenerator _model;

    /// <summary>Copies <paramref name="source"/> as it is now; the source stays as it was (training mode included).</summary>
    public FrozenReference(TokenGenerator source)
    {
        ArgumentNullException.ThrowIfNull(source);
        _model = source.Copy();
        foreach (var p in _model.parameters()) p.requires_grad = false;
        _model.eval();
    }

    /// <summary>The frozen model, e.g. to sample DDO's fake sequences from it. Do not train it.</summary>
    public TokenGenerator Model => _model;

    /// <summary>Per-token log-probabilities (B, L) of the reference, without gradient.</summary>
    public Tensor TokenLogProbs(Tensor classes_B, Tensor tokens_BL)
    {
        using var _ = no_grad();
        return _model.TokenLogProbs(classes_B, tokens_BL);
    }

    /// <summary>Per-sequence log-probabilities log p_ref(x | c) (B), without gradient.</summary>
    public Tensor SequenceLogProbs(Tensor classes_B, Tensor tokens_BL) => TokenLogProbs(classes_B, tokens_BL).sum(1);

    public void Dispose() => _model.Dispose();
}
