using Tessera.Infra.Data;
using Tessera.Trainers.Distributed;
using Tessera.Trainers.Generators;
using TorchSharp;
using static TorchSharp.torch;

namespace Tessera.Trainers.PostTraining;

/// <summary>
/// <see cref="Dpo.Loss"/> over a fixed set of preference pairs whose reference log-probabilities are computed once,
/// when the objective is built, instead of at every step (trl's <c>precompute_ref_log_probs</c>): the reference is
/// frozen, so a pair's numbers cannot change, and each step then runs the policy alone. Batches visit the pairs in
/// <see cref="DeterministicSampler"/> order (a seeded permutation per epoch). Not for DDO-style self-play: a new
/// reference would make the cache stale.
/// </summary>
public sealed class CachedDpoObjective : IPostTrainingObjective
{
    private readonly PreferencePairs _pairs;
    private readonly float[] _refChosen;
    private readonly float[] _refRejected;
    private readonly DeterministicSampler _sampler;
    private readonly double _beta;
    private long _position;

    /// <param name="chunk">Pairs scored per reference forward pass while filling the cache (memory, not results).</param>
    /// <param name="position">Pairs already drawn (steps x batch), for a run resumed from a checkpoint.</param>
    public CachedDpoObjective(PreferencePairs pairs, FrozenReference reference, double beta, ulong seed, int chunk = 250, long position = 0)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(reference);
        Shapes.RequirePositive(beta, nameof(beta));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunk);
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        if (pairs.Chosen.Count == 0) throw new ArgumentException("no preference pairs", nameof(pairs));
        _pairs = pairs;
        _beta = beta;
        _sampler = new DeterministicSampler(pairs.Chosen.Count, seed);
        _position = position;
        _refChosen = Score(reference, pairs.Chosen, chunk);
        _refRejected = Score(reference, pairs.Rejected, chunk);
    }

    public string Name => PostTrainingConfig.ObjectiveDpo;

    /// <summary>The cached log p_ref(chosen | c) of every pair, in the pairs' order.</summary>
    public IReadOnlyList<float> ReferenceChosen => _refChosen;
    /// <summary>The cached log p_ref(rejected | c) of every pair, in the pairs' order.</summary>
    public IReadOnlyList<float> ReferenceRejected => _refRejected;

    /// <summary>Both sequences of every pair.</summary>
    public int ImagesPerStep(int batchSize) => 2 * batchSize;

    /// <summary>Every rank walks the same global order of pairs and trains on its own rows of each batch.</summary>
    public ObjectiveResult NextLoss(TokenGenerator policy, FrozenReference reference, int batchSize, DataParallel? parallel = null)
    {
        int[] global = _sampler.Indices(_position, batchSize);
        _position += batchSize;
        int[] picks = GradientAccumulation.GlobalRows(parallel, batchSize).Select(r => global[r]).ToArray();
        var batch = _pairs.Select(picks);
        var (classes_B, chosen_BL) = TokenBatchTensors.From(batch.Chosen, policy.Config, policy.Device);
        var (_, rejected_BL) = TokenBatchTensors.From(batch.Rejected, policy.Config, policy.Device);
        // One policy pass over both halves, as PairedLogProbs does, so both see the same weights in one graph.
        var lp = policy.SequenceLogProbs(cat(new[] { classes_B, classes_B }), cat(new[] { chosen_BL, rejected_BL })).chunk(2);
        var refChosen_B = tensor(picks.Select(i => _refChosen[i]).ToArray()).to(policy.Device);
        var refRejected_B = tensor(picks.Select(i => _refRejected[i]).ToArray()).to(policy.Device);
        return Dpo.Loss(lp[0], refChosen_B, lp[1], refRejected_B, _beta);
    }

    private static float[] Score(FrozenReference reference, TokenBatch batch, int chunk)
    {
        var scores = new float[batch.Count];
        for (int start = 0; start < batch.Count; start += chunk)
        {
            using var scope = NewDisposeScope();
            int[] rows = Enumerable.Range(start, Math.Min(chunk, batch.Count - start)).ToArray();
            var (classes_B, tokens_BL) = TokenBatchTensors.From(PreferencePairs.Rows(batch, rows), reference.Model.Config, reference.Model.Device);
            reference.SequenceLogProbs(classes_B, tokens_BL).to(float32).cpu().data<float>().ToArray().CopyTo(scores, start);
        }
        return scores;
    }
}
