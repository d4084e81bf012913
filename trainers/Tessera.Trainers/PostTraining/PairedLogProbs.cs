using Tessera.Trainers.Generators;
using static TorchSharp.torch;

namespace Tessera.Trainers.PostTraining;

/// <summary>
/// Per-sequence log-probabilities of two equally sized halves (e.g. DPO's chosen and rejected, CCA's image under its
/// class and under the shifted class), by the policy (with gradient) and the reference, in one forward pass each:
/// one graph, and the same weights see both halves. <c>referenceScores</c>, if given, replaces the reference's pass
/// ((conditions, tokens) of both halves -> their log-probabilities), e.g. with cached numbers.
/// </summary>
internal sealed record PairedLogProbs(Tensor First_B, Tensor FirstRef_B, Tensor Second_B, Tensor SecondRef_B)
{
    public static PairedLogProbs Score(TokenGenerator policy, FrozenReference reference,
        (Tensor Classes_B, Tensor Tokens_BL) first, (Tensor Classes_B, Tensor Tokens_BL) second,
        Func<Tensor, Tensor, Tensor>? referenceScores = null)
    {
        var classes_2B = cat(new[] { first.Classes_B, second.Classes_B });
        var tokens_2BL = cat(new[] { first.Tokens_BL, second.Tokens_BL });
        var lp = policy.SequenceLogProbs(classes_2B, tokens_2BL).chunk(2);
        var lpRef = (referenceScores ?? reference.SequenceLogProbs)(classes_2B, tokens_2BL).chunk(2);
        return new PairedLogProbs(lp[0], lpRef[0], lp[1], lpRef[1]);
    }
}
