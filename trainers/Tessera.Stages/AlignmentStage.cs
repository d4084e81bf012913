using Tessera.Infra.Storage;
using System.Diagnostics;
using Tessera.Infra.Specs;
using Tessera.Trainers;
using Tessera.Trainers.Data;
using Tessera.Trainers.Generators;
using Tessera.Trainers.PostTraining;
using TorchSharp;

namespace Tessera.Stages;

/// <summary>
/// The alignment stages `cca`, `ddo`, `dpo` and `rl`: post-train a copy of the `from` generator against a frozen copy
/// of it (<see cref="PostTrainer"/>), judge the start and the result alike (<see cref="SampleJudge"/>), and write the
/// aligned generator as a generator checkpoint with the start's lineage, so eval stages and `tessera sample` load it
/// like any other. Objectives and their data: cca and ddo read the train token shards (ddo also samples fakes from
/// its reference each step, with `rounds` self-play rounds); dpo ranks the start's samples by the classifier into
/// pairs whose reference log-probabilities are cached; rl samples groups from the policy, rewarded by the classifier.
/// cca keeps its reference log-probabilities beside the token shards (<see cref="ReferenceTables"/>).
///
/// With `workers: N` every rank trains (<see cref="PostTrainer.Train"/> with the ring), then rank 0 alone judges the start
/// and the result and writes the checkpoint and report: judging first would keep the other ranks waiting at the ring.
/// cca and dpo draw the same global batches and pairs on every rank (one seed) and each scores its rows; ddo and rl draw
/// their null rows, fakes and groups with a generator seeded per rank, so the ranks' samples differ.
///
/// Resumable like pretraining (<see cref="StageResume"/>): rank 0's checkpoints hold the whole run
/// (<see cref="PostTrainer.SaveResumable"/>) with the shared generator and its own; data positions restart at completed
/// steps x batch. Exact with one worker; other ranks reseed their own generator from the step.
/// </summary>
public static class AlignmentStage
{
    public static StageOutcome Run(StageContext context)
    {
        var stage = context.Stage;
        var store = context.Store;
        var ct = context.Cancellation;
        var device = TorchRuntime.ResolveDevice(context.Spec.Device);
        long seed = context.Spec.Seed;
        string from = stage.String("from");
        var (startStage, startCheckpoint) = StageCheckpoints.Resolve(store, context.ExperimentId, from, ct);
        GeneratorLineage lineage = StageCheckpoints.ReadLineage(store, startStage, ct);
        var (start, tokenizer) = StageCheckpoints.LoadGenerator(store, startStage, device, ct);
        using var _ = start;
        using var __ = tokenizer;
        using var judge = SampleJudge.Load(context, stage.String("classifier"), device);
        var evalSettings = new EvalSettings(stage.Int("samples_per_class"), stage.Double("cfg"), stage.Double("temperature"),
            stage.Int("top_k"), stage.Double("top_p"), stage.Int("sample_batch_size"));
        var config = FromStage(stage);
        int rank = context.Parallel?.Rank ?? 0;
        var objectiveNumbers = new Dictionary<string, double> { ["steps"] = config.TotalSteps, ["rounds"] = config.Rounds };
        var artifacts = new List<ArtifactRef>();
        var clock = Stopwatch.StartNew();
        using (var random = new torch.Generator((ulong)seed))
        using (var perRank = new torch.Generator((ulong)(seed + 1_000_003L * rank))) // rank 0: the single-worker stream
        {
            // Rank 0's streams are saved with its checkpoints; another rank takes the shared one and reseeds its own.
            torch.Generator[] streams = [random, perRank];
            using var trainer = StageResume.Latest(context, s => PostTrainer.Resume(s, null, start.Model, config, seed, rank == 0 ? streams : [random]))
                ?? new PostTrainer(start.Model, config, seed);
            int resumedFrom = trainer.CompletedSteps;
            if (resumedFrom > 0 && rank > 0) perRank.manual_seed(seed + 1_000_003L * rank + resumedFrom);
            long position = (long)resumedFrom * config.BatchSize; // global rows drawn so far: every rank walks the global batches
            var sampling = evalSettings.Sampling(cfg: null); // the objectives' own samples are conditional, without guidance
            ReferenceCache? cache = stage.Kind == PostTrainingConfig.ObjectiveCca
                ? ReferenceCache.Load(context, lineage, tokenizer.Scales, startCheckpoint.Sha256, start.Model.Config.Classes + 1) : null;
            IPostTrainingObjective objective = stage.Kind switch
            {
                PostTrainingConfig.ObjectiveCca => new CcaObjective(TrainTokens(context, lineage, tokenizer.Scales, position), config, random, cache!.Scores),
                PostTrainingConfig.ObjectiveDdo => new DdoObjective(TrainTokens(context, lineage, tokenizer.Scales, position), config, sampling, perRank),
                PostTrainingConfig.ObjectiveDpo => PreferencePairs(context, start.Model, trainer.Reference, judge.Reward(tokenizer), config, sampling,
                    position, objectiveNumbers),
                PostTrainingConfig.ObjectiveRl => new GrpoObjective(judge.Reward(tokenizer), config, sampling, perRank),
                _ => throw new NotSupportedException($"stage kind '{stage.Kind}' is not an alignment stage"),
            };
            var last = trainer.Train(objective, cache?.SavingAtReports(context, context.Progress) ?? context.Progress, ct, context.Parallel,
                StageResume.Periodic(context, s => trainer.SaveResumable(s, streams)));
            if (!context.IsLeader) return StageOutcome.FollowerDone;
            // A restart from here on (while judging, say) finds the training done.
            StageResume.AfterTraining(context, trainer.CompletedSteps, s => trainer.SaveResumable(s, streams));
            objectiveNumbers["train_seconds"] = clock.Elapsed.TotalSeconds;
            StageResume.Note(resumedFrom, objectiveNumbers);
            if (cache is not null)
            {
                cache.Save(context);
                objectiveNumbers["reference_cache_hits"] = cache.Scores.Hits;
                objectiveNumbers["reference_cache_misses"] = cache.Scores.Misses;
            }
            objectiveNumbers["train_loss"] = last.Loss;
            foreach (var (key, value) in last.Metrics) objectiveNumbers[$"train_{key}"] = value;
            artifacts.Add(StageData.WriteCheckpoint(context, s => trainer.SaveGeneratorCheckpoint(s, context.ResolvedSpecYaml, seed, trainer.CompletedSteps)));
            artifacts.Add(StageData.WriteJson(context, context.Artifacts.Lineage, lineage));
        }

        var before = judge.Evaluate(context, start.Model, tokenizer, evalSettings, $"{stage.Name}-before", artifacts);
        // Judged from the checkpoint just written, loaded the way every later user loads it.
        var (aligned, alignedTokenizer) = StageCheckpoints.LoadGenerator(store, context.Artifacts, device, ct);
        using var ___ = aligned;
        using var ____ = alignedTokenizer;
        var after = judge.Evaluate(context, aligned.Model, alignedTokenizer, evalSettings, $"{stage.Name}-after", artifacts);
        objectiveNumbers["kl_to_start"] = SampledKl.Estimate(aligned.Model, start.Model, evalSettings.SamplesPerClass * aligned.Config.Classes,
            seed, evalSettings.BatchSize, ct);

        var section = new AlignmentSection(stage.Name, stage.Kind, from, aligned.Config.Model, stage.String("classifier"),
            evalSettings.SamplesPerClass, before, after, objectiveNumbers);
        artifacts.Add(StageData.WriteJson(context, AlignmentReport.SectionPath(context.ExperimentId, stage.Name), section));
        artifacts.Add(EvalReport.Write(context));
        return new StageOutcome(Headline(section), artifacts);
    }

    /// <summary>The stage result: each judged number before and after, the objective's KL and pair rewards, steps and time.</summary>
    static Dictionary<string, double> Headline(AlignmentSection section)
    {
        var metrics = new Dictionary<string, double>();
        string[] judged = ["class_accuracy", "fd", "inception_score", "mean_reward", "samples_per_second"];
        foreach (var (when, m) in new[] { ("before", section.Before), ("after", section.After) })
            foreach (string mode in SampleJudge.Modes)
                foreach (string what in judged)
                    metrics[$"{when}_{mode}_{what}"] = m[$"{mode}_{what}"];
        metrics["fd_heldout_halves"] = section.Before["fd_heldout_halves"];
        foreach (var (key, value) in section.Objective.Where(kv => !kv.Key.StartsWith("train_", StringComparison.Ordinal) || kv.Key == "train_seconds"))
            metrics[key] = value;
        return metrics;
    }

    /// <summary>The post-training hyperparameters a stage's settings give; the objective's defaults for anything its kind lacks.</summary>
    public static PostTrainingConfig FromStage(StageSpec stage) => SettingBinder.Bind(stage, PostTrainingConfig.For(stage.Kind));

    static ITokenBatchSource TrainTokens(StageContext context, GeneratorLineage lineage, IReadOnlyList<int> scales, long position) =>
        new TokenBatchSource(StageData.Tokens(context, StageData.Manifest(context), "train", lineage.TokenizerSha256, scales), (ulong)context.Spec.Seed,
            position: position);

    /// <summary>
    /// DPO's pairs from the start's samples, ranked by the classifier, with their reference log-probabilities cached. The
    /// candidates come from a generator of their own, seeded alike on every rank and every restart: a resumed stage
    /// builds the same pairs and walks them from <paramref name="position"/>.
    /// </summary>
    static CachedDpoObjective PreferencePairs(StageContext context, TokenGenerator start, FrozenReference reference,
        Func<torch.Tensor, torch.Tensor, torch.Tensor> reward, PostTrainingConfig config, SamplingOptions sampling, long position,
        Dictionary<string, double> numbers)
    {
        using var random = new torch.Generator((ulong)context.Spec.Seed);
        var ranked = PreferencePairBuilder.Build(start, reward, context.Stage.Int("pairs"), context.Stage.Int("candidates"), sampling, random,
            context.Stage.Int("sample_batch_size"), context.Cancellation);
        numbers["pairs_chosen_reward"] = ranked.MeanChosenReward;
        numbers["pairs_rejected_reward"] = ranked.MeanRejectedReward;
        numbers["pairs_mean_reward"] = ranked.MeanReward;
        return new CachedDpoObjective(ranked.Pairs, reference, config.Beta, (ulong)context.Spec.Seed, position: position);
    }
}
