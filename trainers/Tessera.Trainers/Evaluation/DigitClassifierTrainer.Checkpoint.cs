using System.IO.Compression;
using System.Text;
using static TorchSharp.torch;

using Tessera.Trainers.Generators;

namespace Tessera.Trainers.Evaluation;

/// <summary>
/// Checkpoints: one zip holding everything needed to resume or to score samples: trainer.json (format, step, seed,
/// last loss), config.json (resolved hyperparameters), spec.txt (the resolved job spec as given), model.bin,
/// optimizer.bin (AdamW moments), rng.bin (the generator that draws batch shifts).
/// </summary>
public sealed partial class DigitClassifierTrainer
{
    public const string CheckpointFormat = "tessera.digit-classifier/1";

    private sealed record TrainerState(string Format, int Step, long Seed, double LastLoss);

    /// <summary>Writes a self-contained checkpoint (a zip) to <paramref name="destination"/>, which stays open.</summary>
    public void SaveCheckpoint(Stream destination, string resolvedSpec)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(resolvedSpec);
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var zip = new ZipArchive(destination, ZipArchiveMode.Create, leaveOpen: true);
        CheckpointZip.WriteJson(zip, "trainer.json", new TrainerState(CheckpointFormat, Step, Seed, LastLoss));
        CheckpointZip.WriteJson(zip, "config.json", Config);
        CheckpointZip.Write(zip, "spec.txt", Encoding.UTF8.GetBytes(resolvedSpec));
        CheckpointZip.Write(zip, "model.bin", CheckpointZip.Capture(s => _model.save(s)));
        CheckpointZip.Write(zip, "optimizer.bin", CheckpointZip.Capture(s =>
        {
            using var writer = new BinaryWriter(s, Encoding.UTF8, leaveOpen: true);
            _optimizer.save_state_dict(writer);
        }));
        using var state = _generator.get_state();
        CheckpointZip.Write(zip, "rng.bin", state.data<byte>().ToArray());
    }

    /// <summary>Restores a trainer (model, optimizer, step, generator) from a checkpoint written by <see cref="SaveCheckpoint"/>.</summary>
    public static DigitClassifierTrainer LoadCheckpoint(Stream source, Device device)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var zip = new ZipArchive(source, ZipArchiveMode.Read, leaveOpen: true);
        var state = CheckpointZip.ReadJson<TrainerState>(zip, "trainer.json");
        if (state.Format != CheckpointFormat)
            throw new InvalidDataException($"checkpoint format '{state.Format}' is not '{CheckpointFormat}'");
        var config = CheckpointZip.ReadJson<DigitClassifierConfig>(zip, "config.json");

        var trainer = new DigitClassifierTrainer(config, device, state.Seed);
        try
        {
            using (var model = new MemoryStream(CheckpointZip.Read(zip, "model.bin")))
                trainer._model.load(model);
            using (var optimizer = new MemoryStream(CheckpointZip.Read(zip, "optimizer.bin")))
            using (var reader = new BinaryReader(optimizer))
                trainer._optimizer.load_state_dict(reader);
            var rng = CheckpointZip.Read(zip, "rng.bin");
            using (var rngState = tensor(rng, new long[] { rng.Length }, dtype: ScalarType.Byte))
                trainer._generator.set_state(rngState);
            trainer.Step = state.Step;
            trainer.LastLoss = state.LastLoss;
            trainer.ResolvedSpec = Encoding.UTF8.GetString(CheckpointZip.Read(zip, "spec.txt"));
            return trainer;
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
    }
}
