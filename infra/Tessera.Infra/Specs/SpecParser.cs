using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Tessera.Infra.Specs;

/// <summary>
/// Reads a YAML experiment spec and validates all of it before anything starts: unknown keys and stages,
/// wrong types, out-of-range values and missing sections are reported with file, line and column.
/// </summary>
public static partial class SpecParser
{
    static readonly string[] TopLevelKeys = ["experiment", "seed", "device", "dataset", "stages"];
    static readonly string[] DatasetKeys = ["name", "source", "shards"];
    static readonly string[] Devices = ["auto", "cpu", "cuda"];

    public static ExperimentSpec ParseFile(string path)
    {
        if (!System.IO.File.Exists(path)) throw new SpecException(path, 0, 0, "file not found");
        return Parse(System.IO.File.ReadAllText(path), path);
    }

    public static ExperimentSpec Parse(string yaml, string file = "<spec>")
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(yaml)); }
        catch (YamlException e)
        {
            throw new SpecException(file, (int)e.Start.Line, (int)e.Start.Column, "not valid YAML: " + Innermost(e).Message);
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet's scanner throws this on some malformed plain scalars (found by the spec fuzz test) instead
            // of a YamlException; the input is at fault all the same.
            throw new SpecException(file, 0, 0, "not valid YAML: the YAML scanner gave up (" + e.Message + ")");
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new SpecException(file, 1, 1, "the spec must be a YAML mapping with keys: " + string.Join(", ", TopLevelKeys));

        var reader = new NodeReader(file);
        reader.RejectUnknown(root, TopLevelKeys, "top level");

        string experiment = reader.Scalar(root, "experiment", required: true)!;
        if (!NamePattern().IsMatch(experiment))
            throw reader.Error(root.Children[new YamlScalarNode("experiment")],
                $"experiment name '{experiment}' must be 1-48 characters of letters, digits, '-' or '_'");
        long seed = reader.Integer(root, "seed", defaultValue: 0, min: 0, max: long.MaxValue);
        string device = reader.Choice(root, "device", Devices, defaultValue: "auto");
        DatasetSpec dataset = ParseDataset(reader, root);
        IReadOnlyList<StageSpec> stages = ParseStages(reader, root);
        return new ExperimentSpec(experiment, seed, device, dataset, stages);
    }

    static DatasetSpec ParseDataset(NodeReader reader, YamlMappingNode root)
    {
        var node = reader.Mapping(root, "dataset");
        reader.RejectUnknown(node, DatasetKeys, "dataset");
        string name = reader.Scalar(node, "name", required: true)!;
        if (!NamePattern().IsMatch(name))
            throw reader.Error(node, $"dataset name '{name}' must be letters, digits, '-' or '_'");
        string source = reader.Choice(node, "source", ["builtin", "store"], defaultValue: name == "mnist" ? "builtin" : "store");
        int shards = (int)reader.Integer(node, "shards", defaultValue: 4, min: 1, max: 1024);
        return new DatasetSpec(name, source, shards);
    }

    static IReadOnlyList<StageSpec> ParseStages(NodeReader reader, YamlMappingNode root)
    {
        if (!root.Children.TryGetValue(new YamlScalarNode("stages"), out var stagesNode))
            throw reader.Error(root, "missing required key 'stages'");
        if (stagesNode is not YamlSequenceNode sequence || sequence.Children.Count == 0)
            throw reader.Error(stagesNode, "'stages' must be a non-empty list of stages");

        var stages = new List<StageSpec>();
        var names = new HashSet<string>();
        foreach (var item in sequence.Children)
        {
            if (item is not YamlMappingNode stage)
                throw reader.Error(item, "each stage must be a mapping with at least 'kind'");
            string kind = reader.Scalar(stage, "kind", required: true)!;
            if (!StageSchemas.Kinds.TryGetValue(kind, out var schema))
                throw reader.Error(stage.Children[new YamlScalarNode("kind")],
                    $"unknown stage kind '{kind}' (known: {string.Join(", ", StageSchemas.Kinds.Keys)})");
            string name = reader.Scalar(stage, "name", required: false) ?? kind;
            if (!names.Add(name))
                throw reader.Error(stage, $"two stages are named '{name}'; give each a unique 'name'");
            reader.RejectUnknown(stage, ["kind", "name", .. schema.Select(s => s.Key)], $"stage '{name}'");

            var settings = new Dictionary<string, object>();
            foreach (var setting in schema)
            {
                settings[setting.Key] = reader.Setting(stage, setting, name);
                if (setting.RefersTo is { } target)
                    settings[setting.Key] = ResolveReference(reader, stage, setting, (string)settings[setting.Key], target, name, stages);
            }
            CheckGeneratorFitsTokenizer(reader, stage, name, settings, stages);
            CheckWorkers(reader, stage, name, kind, settings);
            stages.Add(new StageSpec(name, kind, settings));
        }
        return stages;
    }

    /// <summary>
    /// Several workers split each global batch evenly (or the average would weight rows unequally), and an EMA
    /// codebook moves by each rank's own batch statistics outside the averaged gradients, so it cannot be shared.
    /// </summary>
    static void CheckWorkers(NodeReader reader, YamlMappingNode stage, string name, string kind, Dictionary<string, object> settings)
    {
        if (!settings.TryGetValue("workers", out var value) || (int)value <= 1) return;
        int workers = (int)value, batch = (int)settings["batch_size"];
        YamlNode where = stage.Children.TryGetValue(new YamlScalarNode("workers"), out var node) ? node : stage;
        if (batch % workers != 0)
            throw reader.Error(where, $"stage '{name}' has batch_size {batch}, which does not split evenly over {workers} workers");
        if (kind == "tokenizer" && (string)settings["quantizer"] != "simvq")
            throw reader.Error(where, $"stage '{name}' has {workers} workers, but quantizer: {settings["quantizer"]} keeps per-rank codebook statistics; use quantizer: simvq or workers: 1");
    }

    /// <summary>
    /// A next-scale generator reads the multi-scale tokenizer's inputs between scales, so `model: var` over a
    /// single-scale tokenizer of this spec is refused here, before anything trains. (A tokenizer of another
    /// experiment is checked when the stage loads it.)
    /// </summary>
    static void CheckGeneratorFitsTokenizer(NodeReader reader, YamlMappingNode stage, string name, Dictionary<string, object> settings,
        List<StageSpec> earlier)
    {
        if (!settings.TryGetValue("model", out var model) || !settings.TryGetValue("tokenizer", out var reference) || (string)model != "var") return;
        if (earlier.FirstOrDefault(s => s.Name == (string)reference && s.Kind == "tokenizer") is not { } tokenizer) return;
        if ((string)tokenizer.Settings["model"] == "msvq") return;
        YamlNode where = stage.Children.TryGetValue(new YamlScalarNode("model"), out var node) ? node : stage;
        throw reader.Error(where, $"stage '{name}' has model: var, which predicts scale by scale and needs a multi-scale tokenizer; " +
            $"tokenizer stage '{tokenizer.Name}' has model: {tokenizer.Settings["model"]} (give it model: msvq)");
    }

    /// <summary>
    /// A reference to another stage: "" means the nearest earlier stage of the kind, a bare name must be an
    /// earlier stage of that kind here, and "experiment-id/stage" points into another experiment's artifacts.
    /// </summary>
    static string ResolveReference(NodeReader reader, YamlMappingNode stage, SettingSchema setting, string value,
        string kind, string stageName, List<StageSpec> earlier)
    {
        YamlNode where = stage.Children.TryGetValue(new YamlScalarNode(setting.Key), out var node) ? node : stage;
        if (value.Length == 0)
            return earlier.LastOrDefault(s => s.Kind == kind)?.Name
                ?? throw reader.Error(where, $"stage '{stageName}' needs a {kind} stage before it, or '{setting.Key}: <experiment-id>/<stage>'");
        if (value.Contains('/'))
        {
            string[] parts = value.Split('/');
            if (parts.Length != 2 || !NamePattern().IsMatch(parts[1]) || !ExperimentIdPattern().IsMatch(parts[0]))
                throw reader.Error(where, $"'{setting.Key}' in stage '{stageName}' must be a stage name or '<experiment-id>/<stage>', got '{value}'");
            return value;
        }
        if (!earlier.Any(s => s.Name == value && s.Kind == kind))
            throw reader.Error(where, $"'{setting.Key}' in stage '{stageName}' names '{value}', which is not an earlier {kind} stage (earlier {kind} stages: {string.Join(", ", earlier.Where(s => s.Kind == kind).Select(s => s.Name).DefaultIfEmpty("none"))})");
        return value;
    }

    static Exception Innermost(Exception e) => e.InnerException is null ? e : Innermost(e.InnerException);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,95}$")]
    private static partial Regex ExperimentIdPattern();

    /// <summary>Typed access to mapping nodes that turns every mismatch into a located <see cref="SpecException"/>.</summary>
    sealed class NodeReader(string file)
    {
        public SpecException Error(YamlNode node, string problem) =>
            new(file, (int)node.Start.Line, (int)node.Start.Column, problem);

        public void RejectUnknown(YamlMappingNode node, IEnumerable<string> known, string where)
        {
            var allowed = known.ToHashSet();
            foreach (var key in node.Children.Keys)
            {
                string text = (key as YamlScalarNode)?.Value ?? "";
                if (!allowed.Contains(text))
                    throw Error(key, $"unknown key '{text}' in {where} (allowed: {string.Join(", ", allowed)})");
            }
        }

        public YamlMappingNode Mapping(YamlMappingNode parent, string key)
        {
            if (!parent.Children.TryGetValue(new YamlScalarNode(key), out var node))
                throw Error(parent, $"missing required key '{key}'");
            return node as YamlMappingNode ?? throw Error(node, $"'{key}' must be a mapping");
        }

        public string? Scalar(YamlMappingNode parent, string key, bool required)
        {
            if (!parent.Children.TryGetValue(new YamlScalarNode(key), out var node))
                return required ? throw Error(parent, $"missing required key '{key}'") : null;
            if (node is not YamlScalarNode scalar || string.IsNullOrWhiteSpace(scalar.Value))
                throw Error(node, $"'{key}' must be a non-empty text value");
            return scalar.Value;
        }

        public string Choice(YamlMappingNode parent, string key, string[] choices, string defaultValue)
        {
            string? value = Scalar(parent, key, required: false);
            if (value is null) return defaultValue;
            if (!choices.Contains(value))
                throw Error(parent.Children[new YamlScalarNode(key)], $"'{key}' must be one of {string.Join(", ", choices)}, got '{value}'");
            return value;
        }

        public long Integer(YamlMappingNode parent, string key, long defaultValue, long min, long max)
        {
            string? value = Scalar(parent, key, required: false);
            if (value is null) return defaultValue;
            var node = parent.Children[new YamlScalarNode(key)];
            if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long result))
                throw Error(node, $"'{key}' must be an integer, got '{value}'");
            if (result < min || result > max)
                throw Error(node, $"'{key}' must be between {min} and {max}, got {result}");
            return result;
        }

        public object Setting(YamlMappingNode stage, SettingSchema schema, string stageName)
        {
            string? value = Scalar(stage, schema.Key, required: false);
            if (value is null) return schema.Default;
            var node = stage.Children[new YamlScalarNode(schema.Key)];
            string where = $"'{schema.Key}' in stage '{stageName}'";
            switch (schema.Type)
            {
                case SettingType.Integer:
                    if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long integer))
                        throw Error(node, $"{where} must be an integer, got '{value}'");
                    CheckRange(node, where, schema, integer);
                    return (int)integer;
                case SettingType.Number:
                    if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double number) || !double.IsFinite(number))
                        throw Error(node, $"{where} must be a finite number, got '{value}'");
                    CheckRange(node, where, schema, number);
                    return number;
                default:
                    if (schema.Choices is { } choices && !choices.Contains(value))
                        throw Error(node, $"{where} must be one of {string.Join(", ", choices)}, got '{value}'");
                    return value;
            }
        }

        void CheckRange(YamlNode node, string where, SettingSchema schema, double value)
        {
            if (value < schema.Min) throw Error(node, $"{where} must be at least {schema.Min}, got {value} ({schema.Doc})");
            if (value > schema.Max) throw Error(node, $"{where} must be at most {schema.Max}, got {value} ({schema.Doc})");
        }
    }
}
