using Tessera.Trainers.Generators;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers.PostTraining;

/// <summary>
/// KL(policy || reference) of two generators over whole sequences, estimated from the policy's own samples:
/// the mean over samples x ~ policy(.|c) of log p(x|c) - log p_ref(x|c) (the unbiased "k1" estimate, in nats per
/// image), sampled at temperature 1 over all tokens so the samples follow the policy's distribution. Classes in
/// turn, both models in eval mode for the measurement (their modes are restored).
/// </summary>
public static class SampledKl
{
    public static double Estimate(TokenGenerator policy, TokenGenerator reference, int samples, long seed, int batchSize,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(samples);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        bool policyTraining = policy.training, referenceTraining = reference.training;
        policy.eval();
        reference.eval();
        try
        {
            using var noGrad = no_grad();
            using var generator = new Generator((ulong)seed, policy.Device);
            double total = 0;
            for (int start = 0; start < samples; start += batchSize)
            {
                ct.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                int[] classes = Enumerable.Range(start, Math.Min(batchSize, samples - start)).Select(i => i % policy.Config.Classes).ToArray();
                var tokens_BL = policy.Generate(classes, new SamplingOptions(), generator);
                var classes_B = tensor(classes.Select(c => (long)c).ToArray()).to(policy.Device);
                total += (policy.SequenceLogProbs(classes_B, tokens_BL) - reference.SequenceLogProbs(classes_B, tokens_BL.to(reference.Device)).to(policy.Device))
                    .to(float64).sum().item<double>();
            }
            return total / samples;
        }
        finally
        {
            policy.train(policyTraining);
            reference.train(referenceTraining);
        }
    }
}
