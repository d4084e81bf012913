using Microsoft.Extensions.Logging;
using Tessera.Infra.Data;
using Tessera.Infra.Storage;
using Tessera.Trainers;
using Tessera.Trainers.PostTraining;

namespace Tessera.Stages;

/// <summary>
/// The <see cref="ReferenceLogProbTable"/> of each train token shard for one reference checkpoint, kept beside the shard
/// in the store (<c>tokens/&lt;dataset&gt;/&lt;key&gt;/train-00000.tokens.ref-&lt;reference hash&gt;.lp</c>), so a later
/// run from the same start reads what an earlier one computed. A table that cannot be used (its bytes do not match the
/// hash recorded at write time, it was made for other tokens or another reference, it is truncated) is logged and
/// replaced by an empty one: the numbers are recomputed, never trusted.
/// </summary>
public static class ReferenceTables
{
    public static string PathOf(ShardEntry shard, string referenceSha256) => $"{shard.Path}.ref-{referenceSha256[..16]}.lp";

    /// <summary>One table per shard in <paramref name="shards"/> order: read where present and valid, else empty.</summary>
    public static List<ReferenceLogProbTable> Load(IArtifactStore store, IReadOnlyList<ShardEntry> shards, string referenceSha256, int conditions,
        ILogger log, CancellationToken ct)
    {
        var tables = new List<ReferenceLogProbTable>();
        foreach (var shard in shards)
        {
            string path = PathOf(shard, referenceSha256);
            ReferenceLogProbTable? table = null;
            if (store.ExistsAsync(path, ct).GetAwaiter().GetResult())
            {
                try
                {
                    using var buffer = new MemoryStream();
                    using (var stream = store.OpenReadAsync(path, ct).GetAwaiter().GetResult()) stream.CopyTo(buffer);
                    table = ReferenceLogProbTable.Parse(path, buffer.GetBuffer().AsSpan(0, (int)buffer.Length), shard.Sha256, referenceSha256, shard.Count, conditions);
                    log.LogInformation("Reference log-probabilities: {Filled} of {Total} read from {Path}", table.Filled, (long)shard.Count * conditions, path);
                }
                catch (Exception e) when (e is ArtifactCorruptException or DataFormatException)
                {
                    log.LogWarning("Reference log-probabilities in {Path} are not usable, recomputing them: {Problem}", path, e.Message);
                }
            }
            tables.Add(table ?? new ReferenceLogProbTable(shard.Sha256, referenceSha256, shard.Count, conditions));
        }
        return tables;
    }

    /// <summary>Writes back (atomically, through the store) every table that gained entries.</summary>
    public static void Save(IArtifactStore store, IReadOnlyList<ShardEntry> shards, IReadOnlyList<ReferenceLogProbTable> tables, CancellationToken ct)
    {
        for (int i = 0; i < shards.Count; i++)
            if (tables[i].Changed)
            {
                store.WriteAsync(PathOf(shards[i], tables[i].ReferenceSha256), new MemoryStream(tables[i].ToBytes(), writable: false), ct).GetAwaiter().GetResult();
                tables[i].MarkWritten();
            }
    }
}

/// <summary>
/// A cca stage's reference log-probabilities: the train shards' tables, looked up and filled by <see cref="Scores"/>,
/// written back by rank 0 at every progress report (<see cref="SavingAtReports"/>) and when training ends, so a run
/// stopped midway leaves what it computed for the next.
/// </summary>
public sealed class ReferenceCache
{
    readonly IReadOnlyList<ShardEntry> _shards;

    ReferenceCache(IReadOnlyList<ShardEntry> shards, List<ReferenceLogProbTable> tables) => (_shards, Scores) = (shards, new ReferenceScoreCache(tables));

    public ReferenceScoreCache Scores { get; }

    /// <summary>The tables of the train token shards the generator's tokenizer made, for the reference checkpoint <paramref name="referenceSha256"/>.</summary>
    public static ReferenceCache Load(StageContext context, GeneratorLineage lineage, IReadOnlyList<int> scales, string referenceSha256, int conditions)
    {
        var manifest = TokenDataset.ReadManifestAsync(context.Store, context.Spec.Dataset.Name, lineage.TokenizerSha256, scales, context.Cancellation)
            .GetAwaiter().GetResult();
        return new ReferenceCache(manifest.Train,
            ReferenceTables.Load(context.Store, manifest.Train, referenceSha256, conditions, context.Log, context.Cancellation));
    }

    public void Save(StageContext context) => ReferenceTables.Save(context.Store, _shards, Scores.Tables, context.Cancellation);

    /// <summary><paramref name="inner"/>, and on rank 0 the tables written back at each report (on the training thread, between steps).</summary>
    public IProgress<TrainingProgress> SavingAtReports(StageContext context, IProgress<TrainingProgress> inner) =>
        context.IsLeader ? new SaveAtReport(inner, () => Save(context)) : inner;

    sealed class SaveAtReport(IProgress<TrainingProgress> inner, Action save) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            save();
            inner.Report(value);
        }
    }
}
