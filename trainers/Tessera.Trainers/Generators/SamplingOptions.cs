namespace Tessera.Trainers.Generators;

/// <summary>How to turn next-token logits into a token.</summary>
/// <param name="Temperature">Logits are divided by this before sampling; must be positive (top-k 1 gives greedy decoding).</param>
/// <param name="TopK">Keep only the k most likely tokens; 0 keeps all.</param>
/// <param name="TopP">Keep the smallest set of most likely tokens whose probability reaches p; 1 keeps all.</param>
/// <param name="CfgScale">
/// Classifier-free guidance scale s in <c>u + s*(c - u)</c>; null samples from the conditional model alone
/// (one forward row per sample instead of two). For VAR this is the end value of the ramp.
/// </param>
public sealed record SamplingOptions(double Temperature = 1.0, int TopK = 0, double TopP = 1.0, double? CfgScale = null)
{
    public void Validate()
    {
        if (!(Temperature > 0)) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "must be positive");
        if (TopK < 0) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "must be >= 0");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "must be in (0, 1]");
        if (CfgScale is double s && !double.IsFinite(s)) throw new ArgumentOutOfRangeException(nameof(CfgScale), s, "must be finite");
    }
}
