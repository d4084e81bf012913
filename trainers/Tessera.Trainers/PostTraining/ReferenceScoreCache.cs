using Tessera.Trainers.Data;
using static TorchSharp.torch;

namespace Tessera.Trainers.PostTraining;

/// <summary>
/// Per-sequence reference log-probabilities looked up in one <see cref="ReferenceLogProbTable"/> per token shard, the
/// missing ones computed by the reference in one pass and added, so each (sequence, condition) runs through the
/// reference once over all epochs and runs that share the tables. Only valid while the reference is the one the tables
/// were made with (not across DDO's self-play rounds).
/// </summary>
public sealed class ReferenceScoreCache(IReadOnlyList<ReferenceLogProbTable> tables)
{
    public IReadOnlyList<ReferenceLogProbTable> Tables => tables;
    /// <summary>Looked-up values found in the tables so far.</summary>
    public long Hits { get; private set; }
    /// <summary>Distinct (sequence, condition) entries the reference had to compute so far.</summary>
    public long Misses { get; private set; }

    /// <summary>log p_ref(tokens | condition) of each row (N), float32 on the tokens' device; row i is stored sequence <paramref name="ids"/>[i].</summary>
    public Tensor SequenceLogProbs(FrozenReference reference, IReadOnlyList<SampleId> ids, Tensor conditions_N, Tensor tokens_NL)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (ids.Count != conditions_N.shape[0] || ids.Count != tokens_NL.shape[0])
            throw new ArgumentException($"{ids.Count} sample ids for {conditions_N.shape[0]} conditions and {tokens_NL.shape[0]} sequences");
        long[] conditions = conditions_N.cpu().data<long>().ToArray();
        var values = new float[ids.Count];
        // Each missing (sequence, condition) once, even when a batch holds it twice (a null row's two halves).
        var missing = new Dictionary<(SampleId, long), List<int>>();
        for (int i = 0; i < ids.Count; i++)
        {
            if (Table(ids[i]).TryGet(ids[i].Index, (int)conditions[i], out values[i])) Hits++;
            else if (missing.TryGetValue((ids[i], conditions[i]), out var same)) same.Add(i);
            else missing[(ids[i], conditions[i])] = [i];
        }
        if (missing.Count > 0)
        {
            Misses += missing.Count;
            var rows = tensor(missing.Values.Select(same => (long)same[0]).ToArray()).to(tokens_NL.device);
            float[] computed = reference.SequenceLogProbs(conditions_N.index_select(0, rows), tokens_NL.index_select(0, rows))
                .to(float32).cpu().data<float>().ToArray();
            int j = 0;
            foreach (var ((id, condition), same) in missing)
            {
                foreach (int i in same) values[i] = computed[j];
                Table(id).Set(id.Index, (int)condition, computed[j++]);
            }
        }
        return tensor(values).to(tokens_NL.device);
    }

    ReferenceLogProbTable Table(SampleId id) =>
        (uint)id.Shard < (uint)tables.Count ? tables[id.Shard] : throw new ArgumentOutOfRangeException(nameof(id), id, $"there are {tables.Count} shard tables");
}
