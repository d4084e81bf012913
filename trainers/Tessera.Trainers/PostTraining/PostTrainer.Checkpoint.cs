using System.IO.Compression;
using Tessera.Trainers.Generators;
using static TorchSharp.torch;

namespace Tessera.Trainers.PostTraining;

/// <summary>
/// Resumable checkpoints of a post-training run: everything <see cref="Train"/> needs to go on exactly as an
/// uninterrupted run would. One zip: trainer.json (<see cref="ResumeHeader"/>), model.bin (the policy), reference.bin
/// (the frozen reference: the start, or after a DDO round the policy as it was then), optimizer.bin (AdamW moments),
/// rng-global.bin (torch's global generator, which the policy's dropout draws from) and stream-N.bin for each generator
/// the caller's objective draws from (null rows, fakes, groups). Data positions are the caller's: a batch source
/// restarted at <see cref="CompletedSteps"/> x batch continues where this run was.
/// </summary>
public sealed partial class PostTrainer
{
    public const string ResumeFormat = "tessera.post-training-resume/1";

    /// <summary>trainer.json: where the run stood, and what it was, so a checkpoint of another run is refused by name.</summary>
    internal sealed record ResumeHeader(string Format, string Objective, int Rounds, int Steps, int BatchSize, int Round, int Step,
        int Streams, TrainingProgress? Last);

    /// <summary>
    /// Writes this run as it stands after its latest step, with the states of <paramref name="streams"/> (the same
    /// generators, in the same order, as <see cref="Resume"/> will be given). Weights holding a NaN or infinity are
    /// refused before a byte is written.
    /// </summary>
    public void SaveResumable(Stream destination, IReadOnlyList<Generator> streams)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(streams);
        ObjectDisposedException.ThrowIf(_disposed, this);
        NonFiniteGuard.RequireFinite(_policy, $"a {Config.Objective} resumable checkpoint at step {CompletedSteps}");
        using var zip = new ZipArchive(destination, ZipArchiveMode.Create, leaveOpen: true);
        CheckpointZip.WriteJson(zip, "trainer.json", new ResumeHeader(ResumeFormat, Config.Objective, Config.Rounds, Config.Steps,
            Config.BatchSize, Round, Step, streams.Count, Last));
        CheckpointZip.WriteWeights(zip, _policy);
        CheckpointZip.WriteWeights(zip, _reference.Model, "reference.bin");
        CheckpointZip.WriteOptimizer(zip, _optimizer);
        using (var global = TorchSharp.torch.random.get_rng_state())
            CheckpointZip.WriteGeneratorState(zip, "rng-global.bin", global);
        for (int i = 0; i < streams.Count; i++) CheckpointZip.WriteGenerator(zip, $"stream-{i}.bin", streams[i]);
    }

    /// <summary>
    /// A run restored from <paramref name="source"/> (written by <see cref="SaveResumable"/>), built like a fresh one from
    /// <paramref name="start"/>, <paramref name="config"/> and <paramref name="seed"/>, then given the checkpoint's
    /// policy, reference, optimizer moments, round, step and global generator. The first <paramref name="streams"/>.Count
    /// saved generator states go into <paramref name="streams"/>, last, once everything else has loaded, so a checkpoint
    /// that fails leaves them untouched. A checkpoint of another objective, schedule or batch, or with damaged bytes, is
    /// a <see cref="CheckpointFormatException"/> naming <paramref name="name"/>.
    /// </summary>
    public static PostTrainer Resume(Stream source, string? name, TokenGenerator start, PostTrainingConfig config, long seed,
        IReadOnlyList<Generator> streams)
    {
        ArgumentNullException.ThrowIfNull(streams);
        return CheckpointZip.Load(source, name, zip =>
        {
            var header = CheckpointZip.ReadJson<ResumeHeader>(zip, "trainer.json");
            if (header.Format != ResumeFormat) throw new InvalidDataException($"checkpoint format '{header.Format}' is not '{ResumeFormat}'");
            var saved = (header.Objective, header.Rounds, header.Steps, header.BatchSize);
            var wanted = (config.Objective, config.Rounds, config.Steps, config.BatchSize);
            if (saved != wanted)
                throw new InvalidDataException($"written by a run of (objective, rounds, steps, batch) {saved}, not {wanted}");
            if (header.Round < 0 || header.Round >= header.Rounds || header.Step < 0 || header.Step > header.Steps)
                throw new InvalidDataException($"round {header.Round + 1}, step {header.Step} lie outside {header.Rounds} round(s) of {header.Steps}");
            if (header.Streams < streams.Count)
                throw new InvalidDataException($"holds {header.Streams} generator state(s), {streams.Count} asked for");
            return CheckpointZip.Restore(new PostTrainer(start, config, seed), trainer =>
            {
                CheckpointZip.ReadWeights(zip, trainer._policy);
                CheckpointZip.ReadWeights(zip, trainer._reference.Model, "reference.bin");
                CheckpointZip.ReadOptimizer(zip, trainer._optimizer);
                // Every state read and size-checked before any is set.
                using var globalNow = TorchSharp.torch.random.get_rng_state();
                using var global = CheckpointZip.ReadGeneratorState(zip, "rng-global.bin", globalNow);
                var states = new List<Tensor>();
                try
                {
                    for (int i = 0; i < streams.Count; i++)
                        using (var now = streams[i].get_state())
                            states.Add(CheckpointZip.ReadGeneratorState(zip, $"stream-{i}.bin", now));
                    (trainer.Round, trainer.Step, trainer.Last) = (header.Round, header.Step, header.Last);
                    TorchSharp.torch.random.set_rng_state(global);
                    for (int i = 0; i < streams.Count; i++) streams[i].set_state(states[i]);
                }
                finally
                {
                    foreach (var state in states) state.Dispose();
                }
            });
        });
    }
}
