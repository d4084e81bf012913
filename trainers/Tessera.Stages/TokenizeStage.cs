using System.Diagnostics;
using Tessera.Infra.Data;
using Tessera.Infra.Storage;
using Tessera.Trainers;
using Tessera.Trainers.Tokenizers;

namespace Tessera.Stages;

/// <summary>
/// The `tokenize` stage: encodes every image shard with a trained tokenizer into token shards, stored under a
/// key made of the tokenizer checkpoint's SHA-256 and its scale schedule. Tokens that already exist for that
/// key are reused, not recomputed.
/// </summary>
public static class TokenizeStage
{
    public static StageOutcome Run(StageContext context)
    {
        var (store, shards) = (context.Store, context.Shards);
        CancellationToken ct = context.Cancellation;
        string dataset = context.Spec.Dataset.Name;
        var clock = Stopwatch.StartNew();

        var (tokenizerStage, checkpoint) = StageCheckpoints.Resolve(store, context.ExperimentId, context.Stage.String("tokenizer"), ct);
        var device = TorchRuntime.ResolveDevice(context.Spec.Device);
        using var tokenizer = StageCheckpoints.LoadTokenizer(store, tokenizerStage, device, ct, context.Log);
        DatasetManifest images = StageData.Manifest(context);
        bool cached = TokenDataset.ExistsAsync(store, dataset, checkpoint.Sha256, tokenizer.Scales, ct).GetAwaiter().GetResult();
        if (!cached)
        {
            int total = images.TrainCount + images.HeldOutCount, done = 0, batch = context.Stage.Int("batch_size");
            List<TokenShard> EncodeSplit(string split, int shardCount) => Enumerable.Range(0, shardCount).Select(i =>
            {
                ct.ThrowIfCancellationRequested();
                ImageShard shard = shards.GetAsync(new ShardKey(dataset, split, i), ct).GetAwaiter().GetResult();
                int[] tokens = TokenizerInference.Tokenize(tokenizer, shard.ToBatch(), device, batch);
                done += shard.Count;
                context.Progress.Report(Progress(done, total, clock));
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

    static TrainingProgress Progress(int done, int total, Stopwatch clock) =>
        new("tokenize", done, total, Loss: 0, ImagesPerSecond: done / Math.Max(clock.Elapsed.TotalSeconds, 1e-3),
            new Dictionary<string, double>());
}
