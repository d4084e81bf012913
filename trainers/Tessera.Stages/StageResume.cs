using System.Text.Json;
using Microsoft.Extensions.Logging;
using Tessera.Infra.Data;
using Tessera.Infra.Storage;
using Tessera.Trainers;

namespace Tessera.Stages;

/// <summary>
/// Resumable checkpoints of a training stage. Every <c>checkpoint_every</c> steps rank 0 writes the whole trainer
/// (weights, optimizer moments, RNG, step) into one of two slots, alternately, then records it in a small index
/// (<c>&lt;stage&gt;.resume.json</c>) with its step and SHA-256. Two slots, because the newest one may be the one a
/// crash or a bad disk spoiled: a restarted stage loads the newest checkpoint that verifies and loads, else the
/// other, else starts from step 0. The data position is step x global batch, so the batch sources continue from
/// the restored step exactly where the interrupted run was.
/// </summary>
public static class StageResume
{
    public static string Index(string experimentId, string stage) => new StageArtifacts(experimentId, stage).ResumeIndex;
    public static string Slot(string experimentId, string stage, int slot) => new StageArtifacts(experimentId, stage).ResumeSlot(slot);

    /// <summary>One saved checkpoint: which slot holds it, after which step, and the hash it was written with.</summary>
    public sealed record Entry(int Slot, int Step, string Sha256);

    /// <summary>
    /// What rank 0 passes to its trainer (null for other ranks, or with <c>checkpoint_every: 0</c> and no
    /// <see cref="StageContext.Demand"/>): saves every <c>checkpoint_every</c> steps and when a drain asks.
    /// </summary>
    public static PeriodicCheckpoint? Periodic(StageContext context, Action<Stream> save)
    {
        int every = context.Stage.Int("checkpoint_every");
        if (!context.IsLeader || (every <= 0 && context.Demand is null)) return null;
        context.Demand?.Arm();
        return new PeriodicCheckpoint(every, step => Save(context, step, save, "resumable checkpoint"), context.Demand);
    }

    /// <summary>
    /// After the last step of a stage whose final checkpoint is of another kind (an alignment stage's is a generator,
    /// not a resumable run): the finished run becomes the newest resumable checkpoint, so a restart before the stage
    /// completes (while it judges its result, say) skips the training. Skipped where periodic checkpoints are off.
    /// </summary>
    public static void AfterTraining(StageContext context, int step, Action<Stream> save)
    {
        if (!context.IsLeader || context.Stage.Int("checkpoint_every") <= 0) return;
        Save(context, step, save, "resumable checkpoint of the finished training");
    }

    static void Save(StageContext context, int step, Action<Stream> save, string what)
    {
        using var buffer = new MemoryStream();
        save(buffer);
        Save(context, step, buffer.ToArray(), what);
    }

    /// <summary>
    /// After the last step: the final checkpoint's bytes become the stage's newest resumable checkpoint too, so a final
    /// checkpoint found corrupt on read has a good copy to fall back on (<see cref="StageCheckpoints.ReadVerified"/>), and
    /// a stage restarted after its final write resumes at its last step. Skipped where periodic checkpoints are off.
    /// </summary>
    public static void KeepFinal(StageContext context, int step, byte[] content)
    {
        if (!context.IsLeader || context.Stage.Int("checkpoint_every") <= 0) return;
        Save(context, step, content, "copy of the final checkpoint");
    }

    static void Save(StageContext context, int step, byte[] content, string what)
    {
        var entries = Entries(context);
        // Overwrite the older slot, never the newest good one.
        int slot = entries.Count == 0 ? 0 : 1 - entries.MaxBy(e => e.Step)!.Slot;
        var written = StageData.Write(context, Slot(context.ExperimentId, context.Stage.Name, slot), content);
        var next = entries.Where(e => e.Slot != slot).Append(new Entry(slot, step, written.Sha256)).OrderByDescending(e => e.Step).ToList();
        StageData.WriteJson(context, Index(context.ExperimentId, context.Stage.Name), next);
        context.Checkpointed?.Invoke(step);
        context.Log.LogInformation("Stage {Stage}: {What} at step {Step} ({Bytes} bytes, slot {Slot})",
            context.Stage.Name, what, step, written.Length, slot);
    }

    /// <summary>
    /// The resume slot of a stage that holds exactly the artifact recorded with <paramref name="sha256"/> (the copy
    /// <see cref="KeepFinal"/> made of its final checkpoint), or null when there is none.
    /// </summary>
    public static string? SlotHolding(IArtifactStore store, StageArtifacts artifacts, string sha256, CancellationToken ct)
    {
        string index = artifacts.ResumeIndex;
        if (!store.ExistsAsync(index, ct).GetAwaiter().GetResult()) return null;
        List<Entry>? entries;
        try
        {
            using var stream = store.OpenReadAsync(index, ct).GetAwaiter().GetResult();
            entries = JsonSerializer.Deserialize<List<Entry>>(stream);
        }
        catch (Exception e) when (e is JsonException or DataFormatException) { return null; }
        foreach (var entry in entries ?? [])
        {
            string path = artifacts.ResumeSlot(entry.Slot);
            if (entry.Sha256 == sha256 && store.ExistsAsync(path, ct).GetAwaiter().GetResult()
                && store.GetAsync(path, ct).GetAwaiter().GetResult().Sha256 == sha256)
                return path;
        }
        return null;
    }

    /// <summary>
    /// The trainer restored from the newest checkpoint that verifies and loads, or null if there is none (a fresh
    /// start). A checkpoint that fails is logged with the reason and the previous one is tried.
    /// </summary>
    public static T? Latest<T>(StageContext context, Func<Stream, T> load) where T : class
    {
        foreach (var entry in Entries(context))
        {
            string path = Slot(context.ExperimentId, context.Stage.Name, entry.Slot);
            try
            {
                var stored = context.Store.GetAsync(path, context.Cancellation).GetAwaiter().GetResult();
                if (stored.Sha256 != entry.Sha256)
                    throw new InvalidDataException($"SHA-256 is {stored.Sha256[..12]}…, the index recorded {entry.Sha256[..12]}… for step {entry.Step}");
                using var stream = context.Store.OpenReadAsync(path, context.Cancellation).GetAwaiter().GetResult();
                T trainer = load(stream);
                context.Log.LogInformation("Stage {Stage}: resuming from the checkpoint of step {Step} ({Path})", context.Stage.Name, entry.Step, path);
                return trainer;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                context.Log.LogWarning("Stage {Stage}: the checkpoint of step {Step} at {Path} cannot be used ({Problem}); trying an older one",
                    context.Stage.Name, entry.Step, path, e.Message);
            }
        }
        return null;
    }

    /// <summary>Adds <c>resumed_from_step</c> to a stage's metrics when it continued from a checkpoint (summary.json shows it).</summary>
    public static Dictionary<string, double> Note(int resumedFrom, Dictionary<string, double> metrics)
    {
        if (resumedFrom > 0) metrics["resumed_from_step"] = resumedFrom;
        return metrics;
    }

    static List<Entry> Entries(StageContext context)
    {
        string index = Index(context.ExperimentId, context.Stage.Name);
        if (!context.Store.ExistsAsync(index, context.Cancellation).GetAwaiter().GetResult()) return [];
        try
        {
            return StageData.ReadJson<List<Entry>>(context, index).OrderByDescending(e => e.Step).ToList();
        }
        catch (JsonException e)
        {
            context.Log.LogWarning("Stage {Stage}: resume index {Path} is unreadable ({Problem}); starting from step 0", context.Stage.Name, index, e.Message);
            return [];
        }
    }
}
