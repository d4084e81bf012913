using YamlDotNet.Serialization;

namespace Tessera.Infra.Specs;

/// <summary>Writes the resolved spec (every default filled in) as YAML that <see cref="SpecParser"/> reads back.</summary>
public static class SpecWriter
{
    public static string ToYaml(ExperimentSpec spec)
    {
        var document = new Dictionary<string, object>
        {
            ["experiment"] = spec.Experiment,
            ["seed"] = spec.Seed,
            ["device"] = spec.Device,
            ["priority"] = spec.Priority,
            ["team"] = spec.Team,
            ["max_restarts"] = spec.MaxRestarts,
            ["dataset"] = new Dictionary<string, object>
            {
                ["name"] = spec.Dataset.Name, ["source"] = spec.Dataset.Source, ["shards"] = spec.Dataset.Shards,
            },
            ["stages"] = spec.Stages.Select(stage =>
            {
                var entry = new Dictionary<string, object> { ["kind"] = stage.Kind, ["name"] = stage.Name };
                if (stage.After.Count > 0) entry["after"] = stage.After.ToList();
                foreach (var (key, value) in stage.Settings) entry[key] = value;
                return entry;
            }).ToList(),
        };
        return new SerializerBuilder().Build().Serialize(document);
    }
}
