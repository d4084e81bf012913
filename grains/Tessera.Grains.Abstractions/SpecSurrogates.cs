using Tessera.Infra.Specs;

namespace Tessera.Grains;

// The spec is parsed once, at submission; these surrogates let infra's records (which know nothing of Orleans) travel
// in grain calls and state as they are, so no later reader parses the YAML again.

[GenerateSerializer, Immutable]
public readonly struct ExperimentSpecSurrogate(ExperimentSpec spec)
{
    [Id(0)] public readonly string Experiment = spec.Experiment;
    [Id(1)] public readonly long Seed = spec.Seed;
    [Id(2)] public readonly string Device = spec.Device;
    // The dataset travels inside the spec only, so its three fields are the spec's own.
    [Id(3)] public readonly string DatasetName = spec.Dataset.Name;
    [Id(4)] public readonly string DatasetSource = spec.Dataset.Source;
    [Id(5)] public readonly int DatasetShards = spec.Dataset.Shards;
    [Id(6)] public readonly List<StageSpec> Stages = spec.Stages.ToList();
    [Id(7)] public readonly int Priority = spec.Priority;
    [Id(8)] public readonly string Team = spec.Team;
    [Id(9)] public readonly int MaxRestarts = spec.MaxRestarts;
}

[RegisterConverter]
public sealed class ExperimentSpecConverter : IConverter<ExperimentSpec, ExperimentSpecSurrogate>
{
    public ExperimentSpec ConvertFromSurrogate(in ExperimentSpecSurrogate s) =>
        new(s.Experiment, s.Seed, s.Device, new DatasetSpec(s.DatasetName, s.DatasetSource, s.DatasetShards), s.Stages, s.Priority, s.Team,
            s.MaxRestarts);

    public ExperimentSpecSurrogate ConvertToSurrogate(in ExperimentSpec v) => new(v);
}

/// <summary>A stage with its settings in spec order (the resolved spec.yaml and checkpoints list them in that order).</summary>
[GenerateSerializer, Immutable]
public readonly struct StageSpecSurrogate(StageSpec stage)
{
    [Id(0)] public readonly string Name = stage.Name;
    [Id(1)] public readonly string Kind = stage.Kind;
    [Id(2)] public readonly List<StageSetting> Settings = stage.Settings.Select(p => StageSetting.Of(p.Key, p.Value)).ToList();
    [Id(3)] public readonly List<string> After = stage.After.ToList();
}

[RegisterConverter]
public sealed class StageSpecConverter : IConverter<StageSpec, StageSpecSurrogate>
{
    public StageSpec ConvertFromSurrogate(in StageSpecSurrogate s)
    {
        var settings = new Dictionary<string, object>(s.Settings.Count);
        foreach (var setting in s.Settings) settings.Add(setting.Key, setting.Value);
        return new StageSpec(s.Name, s.Kind, settings, s.After);
    }

    public StageSpecSurrogate ConvertToSurrogate(in StageSpec v) => new(v);
}

/// <summary>The CLR type a setting's value had when parsed; readers cast and format by it, so it travels too.</summary>
public enum SettingKind { Int32 = 0, Int64 = 1, Double = 2, Boolean = 3, String = 4 }

/// <summary>
/// One stage setting: its key and its value with the value's type, so an int stays an int and a double a double (a
/// setting written as 30.0 must not come back as 30, nor the other way round).
/// </summary>
[GenerateSerializer, Immutable]
public readonly struct StageSetting(string key, SettingKind kind, long integer, double number, string? text)
{
    [Id(0)] public readonly string Key = key;
    [Id(1)] public readonly SettingKind Kind = kind;
    [Id(2)] public readonly long Integer = integer;
    [Id(3)] public readonly double Number = number;
    [Id(4)] public readonly string? Text = text;

    public static StageSetting Of(string key, object value) => value switch
    {
        int i => new(key, SettingKind.Int32, i, 0, null),
        long l => new(key, SettingKind.Int64, l, 0, null),
        double d => new(key, SettingKind.Double, 0, d, null),
        bool b => new(key, SettingKind.Boolean, b ? 1 : 0, 0, null),
        string s => new(key, SettingKind.String, 0, 0, s),
        // Loud rather than lossy: a new kind of setting value needs a kind here before it can reach a trainer.
        _ => throw new NotSupportedException($"stage setting '{key}' holds a {value.GetType().Name}, which cannot travel between grains yet; add it to {nameof(SettingKind)}"),
    };

    public object Value => Kind switch
    {
        SettingKind.Int32 => (int)Integer,
        SettingKind.Int64 => Integer,
        SettingKind.Double => Number,
        SettingKind.Boolean => Integer != 0,
        SettingKind.String => Text!,
        _ => throw new NotSupportedException($"stage setting '{Key}' has kind {(int)Kind}, unknown to this version"),
    };
}
