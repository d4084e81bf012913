using System.Globalization;
using System.Text.RegularExpressions;
using Tessera.Infra.Data;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Tessera.Infra.Specs;

/// <summary>
/// Reads a YAML experiment spec and validates all of it before anything starts: unknown keys and stages,
/// wrong types, out-of-range values and missing sections are reported with file, line and column.
/// </summary>
public static partial class SpecParser
{
    static readonly string[] TopLevelKeys = ["experiment", "seed", "device", "priority", "team", "max_restarts", "dataset", "stages"];
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
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet's scanner throws these on some malformed input (found by the spec fuzz test: malformed plain
            // scalars; "the current event is of an unsupported type" while loading a mapping) instead of a
            // YamlException; the input is at fault all the same.
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
        // Cluster scheduling: higher priority is admitted first; slot quotas are per team.
        int priority = (int)reader.Integer(root, "priority", defaultValue: 0, min: -1000, max: 1000);
        string team = reader.Scalar(root, "team", required: false) ?? ExperimentSpec.DefaultTeam;
        if (!NamePattern().IsMatch(team))
            throw reader.Error(root.Children[new YamlScalarNode("team")], $"team '{team}' must be 1-48 characters of letters, digits, '-' or '_'");
        // A failed stage (a lost rank, a dead silo, a crash) restarts from its last checkpoint this many times in all.
        int maxRestarts = (int)reader.Integer(root, "max_restarts", defaultValue: 0, min: 0, max: 100);
        DatasetSpec dataset = ParseDataset(reader, root);
        IReadOnlyList<StageSpec> stages = ParseStages(reader, root);
        return new ExperimentSpec(experiment, seed, device, dataset, stages, priority, team, maxRestarts);
    }

    static DatasetSpec ParseDataset(NodeReader reader, YamlMappingNode root)
    {
        var node = reader.Mapping(root, "dataset");
        reader.RejectUnknown(node, DatasetKeys, "dataset");
        string name = reader.Scalar(node, "name", required: true)!;
        if (!NamePattern().IsMatch(name))
            throw reader.Error(node, $"dataset name '{name}' must be letters, digits, '-' or '_'");
        string source = reader.Choice(node, "source", ["builtin", "store"], defaultValue: DatasetStore.BuiltinNames.Contains(name) ? "builtin" : "store");
        if (source == "builtin" && !DatasetStore.BuiltinNames.Contains(name))
            throw reader.Error(node, $"dataset '{name}' is not a builtin (builtins: {string.Join(", ", DatasetStore.BuiltinNames)}); a dataset imported with `tessera data import` takes source: store");
        int shards = (int)reader.Integer(node, "shards", defaultValue: 4, min: 1, max: 1024);
        return new DatasetSpec(name, source, shards);
    }

    /// <summary>
    /// Reads every stage, resolves the references between them, and returns them in the order they will run: a
    /// stage runs after every stage it names (a checkpoint it reads, or <c>after:</c>), otherwise in spec order.
    /// </summary>
    static IReadOnlyList<StageSpec> ParseStages(NodeReader reader, YamlMappingNode root)
    {
        if (!root.Children.TryGetValue(new YamlScalarNode("stages"), out var stagesNode))
            throw reader.Error(root, "missing required key 'stages'");
        if (stagesNode is not YamlSequenceNode sequence || sequence.Children.Count == 0)
            throw reader.Error(stagesNode, "'stages' must be a non-empty list of stages");

        // Pass 1: each stage on its own (kind, name, settings), so pass 2 can resolve names declared further down.
        var parsed = new List<ParsedStage>();
        foreach (var item in sequence.Children)
        {
            if (item is not YamlMappingNode stage)
                throw reader.Error(item, "each stage must be a mapping with at least 'kind'");
            string kind = reader.Scalar(stage, "kind", required: true)!;
            if (!StageSchemas.Kinds.TryGetValue(kind, out var schema))
                throw reader.Error(stage.Children[new YamlScalarNode("kind")],
                    $"unknown stage kind '{kind}'{DidYouMean.Hint(kind, StageSchemas.Kinds.Keys)} (known: {string.Join(", ", StageSchemas.Kinds.Keys)})");
            string name = reader.Scalar(stage, "name", required: false) ?? kind;
            if (!NamePattern().IsMatch(name))
                throw reader.Error(stage.Children[new YamlScalarNode("name")], $"stage name '{name}' must be 1-48 characters of letters, digits, '-' or '_'");
            if (parsed.Any(p => p.Name == name))
                throw reader.Error(stage, $"two stages are named '{name}'; give each a unique 'name'");
            reader.RejectUnknown(stage, ["kind", "name", "after", .. schema.Select(s => s.Key)], $"stage '{name}'");
            var settings = schema.ToDictionary(s => s.Key, s => reader.Setting(stage, s, name));
            parsed.Add(new ParsedStage(stage, name, kind, settings, reader.NameList(stage, "after", name)));
        }

        // Pass 2: references and dependencies, then the checks that look at another stage.
        var stages = new List<StageSpec>();
        var needs = new List<HashSet<int>>();
        for (int i = 0; i < parsed.Count; i++)
        {
            var (stage, name, kind, settings, after) = parsed[i];
            var deps = new HashSet<int>();
            foreach (var setting in StageSchemas.Kinds[kind].Where(s => s.RefersTo is not null))
            {
                string value = ResolveReference(reader, stage, setting, (string)settings[setting.Key], setting.RefersTo!, name, parsed, i);
                settings[setting.Key] = value;
                int target = parsed.FindIndex(p => p.Name == value);
                if (target >= 0) deps.Add(target);
            }
            foreach (var (other, node) in after)
            {
                int target = parsed.FindIndex(p => p.Name == other);
                if (target < 0 || target == i)
                    throw reader.Error(node, target < 0
                        ? $"'after' in stage '{name}' names '{other}', which is not a stage of this spec (stages: {string.Join(", ", parsed.Select(p => p.Name))})"
                        : $"stage '{name}' cannot run after itself");
                deps.Add(target);
            }
            CheckGeneratorFitsTokenizer(reader, stage, name, settings, parsed);
            CheckWorkers(reader, stage, name, kind, settings);
            stages.Add(new StageSpec(name, kind, settings, after.Select(a => a.Name).ToList()));
            needs.Add(deps);
        }
        return RunOrder(reader, parsed, stages, needs);
    }

    /// <summary>
    /// A topological order that keeps spec order wherever the dependencies allow (of the stages that may run, the
    /// one written first runs first), so a spec without forward references runs exactly as written.
    /// </summary>
    static List<StageSpec> RunOrder(NodeReader reader, List<ParsedStage> parsed, List<StageSpec> stages, List<HashSet<int>> needs)
    {
        var order = new List<StageSpec>();
        var done = new bool[stages.Count];
        while (order.Count < stages.Count)
        {
            int next = Enumerable.Range(0, stages.Count).FirstOrDefault(i => !done[i] && needs[i].All(d => done[d]), -1);
            if (next < 0)
            {
                var cycle = Cycle(needs, done);
                throw reader.Error(parsed[cycle[0]].Node,
                    $"stages depend on each other in a cycle: {string.Join(" -> ", cycle.Append(cycle[0]).Select(i => parsed[i].Name))} (through 'after' or a stage reference)");
            }
            done[next] = true;
            order.Add(stages[next]);
        }
        return order;
    }

    /// <summary>One cycle among the stages not yet ordered (every one of them waits on another).</summary>
    static List<int> Cycle(List<HashSet<int>> needs, bool[] done)
    {
        int start = Enumerable.Range(0, needs.Count).First(i => !done[i]);
        var path = new List<int>();
        int current = start;
        while (!path.Contains(current))
        {
            path.Add(current);
            current = needs[current].First(d => !done[d]);
        }
        return path[path.IndexOf(current)..];
    }

    /// <summary>A stage after pass 1: its node (for error positions), settings with references still as written, and its `after` names.</summary>
    sealed record ParsedStage(YamlMappingNode Node, string Name, string Kind, Dictionary<string, object> Settings,
        IReadOnlyList<(string Name, YamlNode Node)> After);

    /// <summary>
    /// Several workers split each global batch evenly (or the average would weight rows unequally), and an EMA
    /// codebook moves by each rank's own batch statistics outside the averaged gradients, so it cannot be shared.
    /// </summary>
    static void CheckWorkers(NodeReader reader, YamlMappingNode stage, string name, string kind, Dictionary<string, object> settings)
    {
        if (!settings.TryGetValue("workers", out var value)) return;
        int workers = (int)value, batch = (int)settings["batch_size"];
        if (settings.TryGetValue("min_workers", out var min))
        {
            // Resolved to a number, so the resolved spec says how few ranks the stage may run on.
            if ((int)min == 0) settings["min_workers"] = workers;
            else if ((int)min > workers)
                throw reader.Error(stage.Children[new YamlScalarNode("min_workers")],
                    $"stage '{name}' has min_workers {min}, more than its {workers} workers");
        }
        if (workers <= 1) return;
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
        List<ParsedStage> all)
    {
        if (!settings.TryGetValue("model", out var model) || !settings.TryGetValue("tokenizer", out var reference) || (string)model != "var") return;
        if (all.FirstOrDefault(s => s.Name == (string)reference && s.Kind == "tokenizer") is not { } tokenizer) return;
        if ((string)tokenizer.Settings["model"] == "msvq") return;
        YamlNode where = stage.Children.TryGetValue(new YamlScalarNode("model"), out var node) ? node : stage;
        throw reader.Error(where, $"stage '{name}' has model: var, which predicts scale by scale and needs a multi-scale tokenizer; " +
            $"tokenizer stage '{tokenizer.Name}' has model: {tokenizer.Settings["model"]} (give it model: msvq)");
    }

    /// <summary>
    /// A reference to another stage: "" means the nearest earlier stage that makes a <paramref name="target"/> (see
    /// <see cref="StageSchemas.Makes"/>: an aligned generator is a generator too), a bare name is any such stage of
    /// this spec (the referring stage then runs after it), and "experiment-id/stage" points into another
    /// experiment's artifacts.
    /// </summary>
    static string ResolveReference(NodeReader reader, YamlMappingNode stage, SettingSchema setting, string value,
        string target, string stageName, List<ParsedStage> all, int index)
    {
        YamlNode where = stage.Children.TryGetValue(new YamlScalarNode(setting.Key), out var node) ? node : stage;
        if (value.Length == 0)
            return all.Take(index).LastOrDefault(s => StageSchemas.Makes(s.Kind, target))?.Name
                ?? throw reader.Error(where, $"stage '{stageName}' needs a {target} stage before it, or '{setting.Key}: <experiment-id>/<stage>'");
        if (value.Contains('/'))
        {
            string[] parts = value.Split('/');
            if (parts.Length != 2 || !NamePattern().IsMatch(parts[1]) || !ExperimentIdPattern().IsMatch(parts[0]))
                throw reader.Error(where, $"'{setting.Key}' in stage '{stageName}' must be a stage name or '<experiment-id>/<stage>', got '{value}'");
            return value;
        }
        if (value == stageName || !all.Any(s => s.Name == value && StageSchemas.Makes(s.Kind, target)))
            throw reader.Error(where, $"'{setting.Key}' in stage '{stageName}' names '{value}', which is not a {target} stage of this spec ({target} stages: {string.Join(", ", all.Where(s => s.Name != stageName && StageSchemas.Makes(s.Kind, target)).Select(s => s.Name).DefaultIfEmpty("none"))})");
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
                    throw Error(key, $"unknown key '{text}' in {where}{DidYouMean.Hint(text, allowed)} (allowed: {string.Join(", ", allowed)})");
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

        /// <summary>A list of stage names (or one name) under <paramref name="key"/>; empty if absent.</summary>
        public IReadOnlyList<(string Name, YamlNode Node)> NameList(YamlMappingNode parent, string key, string stageName)
        {
            if (!parent.Children.TryGetValue(new YamlScalarNode(key), out var node)) return [];
            IEnumerable<YamlNode> items = node is YamlSequenceNode list ? list.Children : [node];
            var names = new List<(string, YamlNode)>();
            foreach (var item in items)
            {
                if (item is not YamlScalarNode { Value: { Length: > 0 } text })
                    throw Error(item, $"'{key}' in stage '{stageName}' must be a stage name or a list of stage names");
                if (names.Any(n => n.Item1 == text)) throw Error(item, $"'{key}' in stage '{stageName}' names '{text}' twice");
                names.Add((text, item));
            }
            return names;
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
            // A text setting whose default is empty ("derive it", as msvq's scales) may be written empty, as the
            // resolved spec writes it back.
            if (schema is { Type: SettingType.Text, Default: "" }
                && stage.Children.TryGetValue(new YamlScalarNode(schema.Key), out var written)
                && written is YamlScalarNode { Value: var text } && string.IsNullOrWhiteSpace(text))
                return "";
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
            if (value < schema.Min || (schema.MinExclusive && value == schema.Min))
                throw Error(node, $"{where} must be {(schema.MinExclusive ? "above" : "at least")} {schema.Min}, got {value} ({schema.Doc})");
            if (value > schema.Max || (schema.MaxExclusive && value == schema.Max))
                throw Error(node, $"{where} must be {(schema.MaxExclusive ? "below" : "at most")} {schema.Max}, got {value} ({schema.Doc})");
        }
    }
}
