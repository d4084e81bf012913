using Tessera.Stages;
using Tessera.Infra.Data;
using Tessera.Infra.Specs;
using Tessera.Bench.Workloads;
using Tessera.Trainers.Generators;
using Tessera.Trainers.Tokenizers;
using TorchSharp;

using Tessera.Cli;
using Tessera.Cli.Commands;

namespace Tessera.Bench.Commands;

/// <summary>
/// Turns what the benches are told (a reference workload's name, or a spec file and stage) into a model of the right
/// sizes, through the same stage mappings (<c>FromStage</c>) that the workers use, so a bench runs what a stage would.
/// </summary>
public static class BenchSpecs
{
    public const string RefGpt = "ref-gpt";
    public const string RefVq = "ref-vq";
    /// <summary>Stage kinds that train, and so have a step to time.</summary>
    private static readonly string[] Trainable = ["tokenizer", "generator", "classifier"];

    /// <summary>
    /// ref-gpt, ref-vq, or <c>spec.yaml[:stage]</c> (default: the spec's first stage that trains), built for
    /// <paramref name="steps"/> steps. Throws <see cref="ArgumentException"/> naming what is wrong.
    /// </summary>
    public static IStepWorkload StepWorkload(string workload, torch.Device device, long seed, int steps)
    {
        switch (workload)
        {
            case RefGpt: return ReferenceWorkload.Gpt(device, seed, steps);
            case RefVq: return ReferenceWorkload.Vq(device, seed, steps);
        }
        var (spec, stage) = Stage(workload, Trainable);
        string name = $"{Path.GetFileName(SpecPath(workload))}:{stage.Name}";
        return stage.Kind switch
        {
            "tokenizer" => new TokenizerWorkload(name, TokenizerStage.FromStage(stage, BuiltinLikeManifest()), device, seed, steps),
            "generator" => new GeneratorWorkload(name, GeneratorConfig(spec, stage), device, seed, steps),
            _ => new ClassifierWorkload(name, ClassifierStage.FromStage(stage, BuiltinLikeManifest()), device, seed, steps),
        };
    }

    /// <summary>The generator stage <paramref name="reference"/> names (<c>spec.yaml[:stage]</c>) as a GPT config, and its tokenizer's config.</summary>
    public static (GeneratorConfig Gpt, VqTokenizerConfig Tokenizer) Generator(string reference)
    {
        var (spec, stage) = Stage(reference, ["generator"]);
        return (GeneratorConfig(spec, stage), TokenizerOf(spec, stage));
    }

    /// <summary>As the generator stage does: the GPT's sequence length and vocabulary come from its tokenizer.</summary>
    private static GeneratorConfig GeneratorConfig(ExperimentSpec spec, StageSpec stage)
    {
        var tokenizer = TokenizerOf(spec, stage);
        return GeneratorStage.FromStage(stage) with
        {
            SequenceLength = tokenizer.ScaleList().Sum(s => s * s), CodebookSize = tokenizer.CodebookSize, Classes = BuiltinLikeManifest().ClassNames.Count,
        };
    }

    private static VqTokenizerConfig TokenizerOf(ExperimentSpec spec, StageSpec generator)
    {
        string name = generator.String("tokenizer");
        var tokenizer = spec.Stages.FirstOrDefault(s => s.Name == name && s.Kind == "tokenizer")
            ?? throw new ArgumentException($"stage '{generator.Name}' reads tokenizer '{name}', which is not a tokenizer stage of this spec; the bench needs its sizes");
        return TokenizerStage.FromStage(tokenizer, BuiltinLikeManifest());
    }

    /// <summary>The bundled digits' shape: 10 classes of 1x28x28. A bench has no dataset, only data of its shape.</summary>
    private static DatasetManifest BuiltinLikeManifest() =>
        new("bench", Enumerable.Range(0, 10).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList(), 1, 28, 28, [], []);

    private static (ExperimentSpec Spec, StageSpec Stage) Stage(string reference, string[] kinds)
    {
        string path = SpecPath(reference);
        if (!File.Exists(path))
            throw new ArgumentException($"'{reference}' is not {RefGpt}, {RefVq} or an existing spec file (spec.yaml or spec.yaml:stage)");
        var spec = SpecParser.ParseFile(path);
        string? wanted = path.Length < reference.Length ? reference[(path.Length + 1)..] : null;
        var candidates = spec.Stages.Where(s => kinds.Contains(s.Kind)).ToList();
        if (candidates.Count == 0) throw new ArgumentException($"{path} has no {string.Join(" or ", kinds)} stage");
        if (wanted is null) return (spec, candidates[0]);
        return (spec, candidates.FirstOrDefault(s => s.Name == wanted)
            ?? throw new ArgumentException($"{path} has no {string.Join(" or ", kinds)} stage named '{wanted}' (it has: {string.Join(", ", candidates.Select(s => s.Name))})"));
    }

    /// <summary>The file part of <c>spec.yaml[:stage]</c>: the whole text if that file exists, else the part before the last ':'.</summary>
    private static string SpecPath(string reference)
    {
        int colon = reference.LastIndexOf(':');
        return File.Exists(reference) || colon <= 0 ? reference : reference[..colon];
    }
}
