using Tessera.Infra.Data;
using Tessera.Trainers.Generators;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers.PostTraining;

/// <summary>DPO's data made from a model's own samples: the pairs and the rewards that ranked them.</summary>
/// <param name="MeanReward">Mean reward over every candidate: the starting model's reward at this sampling.</param>
public sealed record RankedPairs(PreferencePairs Pairs, double MeanChosenReward, double MeanRejectedReward, double MeanReward);

/// <summary>
/// Builds preference pairs by sampling a generator several times per pair and ranking the candidates by a reward
/// (e.g. the reference classifier's probability of the requested class): the best becomes chosen, the worst rejected.
/// Classes go in turn (pair i has class i mod K), so the pairs cover every class evenly.
/// </summary>
public static class PreferencePairBuilder
{
    /// <param name="reward">(R) classes and (R, L) tokens to (R) rewards, higher is better; called without gradient.</param>
    /// <param name="batchSize">Sequences sampled per batch (memory, not results).</param>
    public static RankedPairs Build(TokenGenerator model, Func<Tensor, Tensor, Tensor> reward, int pairs, int candidates,
        SamplingOptions sampling, Generator generator, int batchSize, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(reward);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pairs);
        if (candidates < 2) throw new ArgumentOutOfRangeException(nameof(candidates), candidates, "ranking needs at least 2 candidates per pair");
        int length = model.Config.SequenceLength, perBatch = Math.Max(1, batchSize / candidates);
        var chosen = new int[pairs * length];
        var rejected = new int[pairs * length];
        var labels = Enumerable.Range(0, pairs).Select(i => i % model.Config.Classes).ToArray();
        double chosenSum = 0, rejectedSum = 0, allSum = 0;
        using var noGrad = no_grad();
        for (int start = 0; start < pairs; start += perBatch)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            int n = Math.Min(perBatch, pairs - start);
            // R = n * candidates rows, a pair's candidates side by side.
            int[] classes = labels[start..(start + n)].SelectMany(c => Enumerable.Repeat(c, candidates)).ToArray();
            var tokens_RL = model.Generate(classes, sampling, generator);
            var rewards_NC = reward(tensor(classes.Select(c => (long)c).ToArray()).to(model.Device), tokens_RL)
                .to(float64).cpu().reshape(n, candidates);
            var best_N = rewards_NC.argmax(1).data<long>().ToArray();
            var worst_N = rewards_NC.argmin(1).data<long>().ToArray();
            var tokens = tokens_RL.cpu().to(int32).data<int>().ToArray();
            var rewards = rewards_NC.data<double>().ToArray();
            for (int i = 0; i < n; i++)
            {
                int pair = start + i, best = i * candidates + (int)best_N[i], worst = i * candidates + (int)worst_N[i];
                Array.Copy(tokens, best * length, chosen, pair * length, length);
                Array.Copy(tokens, worst * length, rejected, pair * length, length);
                chosenSum += rewards[best];
                rejectedSum += rewards[worst];
            }
            allSum += rewards.Sum();
        }
        var result = new PreferencePairs(new TokenBatch(chosen, labels, pairs, length), new TokenBatch(rejected, labels.ToArray(), pairs, length));
        return new RankedPairs(result, chosenSum / pairs, rejectedSum / pairs, allSum / ((double)pairs * candidates));
    }
}
