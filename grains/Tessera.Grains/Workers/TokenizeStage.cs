using System.Diagnostics;
using Tessera.Infra.Data;
using Tessera.Infra.Storage;
using Tessera.Trainers;
using Tessera.Trainers.Inference;
using Tessera.Trainers.Tokenizers;

namespace Tessera.Grains.Workers;

/// <summary>
/// The `tokenize` stage: encodes every image shard with a trained tokenizer into token shards, stored under a
/// key made of the tokenizer checkpoint's SHA-256 and its scale schedule. Tokens that already exist for that
/// key are reused, not recomputed.
/// </summary>
public static class TokenizeStage
{
    public static StageOutcome Run(StageContext context)
    {
        var (store, shards) = (context.Services.Store, context.Services.Shards);
        CancellationToken ct = context.Cancellation;
        string dataset = context.Spec.Dataset.Name;
        var clock = Stopwatch.StartNew();

        var (checkpointPath, checkpoint) = TokenizerCheckpoints.Resolve(store, context.ExperimentId, context.Stage.String("tokenizer"), ct);
        var device = TorchRuntime.ResolveDevice(context.Spec.Device);
        IImageTokenizer tokenizer;
        using (var stream = store.OpenReadAsync(checkpointPath, ct).GetAwaiter().GetResult())
            tokenizer = TokenizerLoader.Load(stream, device);
        try
        {
            DatasetManifest images = DatasetStore.ReadManifestAsync(store, dataset, ct).GetAwaiter().GetResult();
            bool cached = TokenDataset.ExistsAsync(store, dataset, checkpoint.Sha256, tokenizer.Scales, ct).GetAwaiter().GetResult();
            if (!cached)
            {
                int total = images.TrainCount + images.HeldOutCount, done = 0, batch = context.Stage.Int("batch_size");
                List<TokenShard> EncodeSplit(string split, int shardCount) => Enumerable.Range(0, shardCount).Select(i =>
                {
                    ImageShard shard = shards.GetAsync(new ShardKey(dataset, split, i), ct).GetAwaiter().GetResult();
                    int before = done;
                    int[] tokens = TokenEncoder.Encode(tokenizer, shard.ToBatch(), device, batch, encoded =>
                        context.Progress.Report(Progress(before + encoded, total, clock)), ct);
                    done += shard.Count;
                    return new TokenShard(checkpoint.Sha256, tokenizer.Scales, tokenizer.CodebookSize, tokens, shard.Labels);
                }).ToList();
                var train = EncodeSplit("train", images.Train.Count);
                var heldOut = EncodeSplit("heldout", images.HeldOut.Count);
                TokenDataset.WriteAsync(store, images, train, heldOut, ct).GetAwaiter().GetResult();
            }
            double seconds = clock.Elapsed.TotalSeconds;
            return new StageOutcome(new Dictionary<string, double>
            {
                ["images"] = images.TrainCount + images.HeldOutCount,
                ["tokens_per_image"] = tokenizer.Scales.Sum(s => s * s),
                ["seconds"] = Math.Round(seconds, 3),
                ["reused_cached_tokens"] = cached ? 1 : 0,
            }, []);
        }
        finally
        {
            (tokenizer as IDisposable)?.Dispose();
        }
    }

    static TrainingProgress Progress(int done, int total, Stopwatch clock) =>
        new("tokenize", done, total, Loss: 0, ImagesPerSecond: done / Math.Max(clock.Elapsed.TotalSeconds, 1e-3),
            new Dictionary<string, double>());
}

/// <summary>Finds the checkpoint a stage reference ("stage" or "experiment-id/stage") points at.</summary>
public static class TokenizerCheckpoints
{
    public static (string Path, ArtifactRef Checkpoint) Resolve(IArtifactStore store, string experimentId, string reference,
        CancellationToken ct)
    {
        string[] parts = reference.Split('/');
        string path = parts.Length == 2
            ? ExperimentPaths.Checkpoint(parts[0], parts[1])
            : ExperimentPaths.Checkpoint(experimentId, reference);
        if (!store.ExistsAsync(path, ct).GetAwaiter().GetResult())
            throw new InvalidOperationException($"tokenizer '{reference}' has no checkpoint at {path} in {store.Location}");
        return (path, store.GetAsync(path, ct).GetAwaiter().GetResult());
    }
}
