using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Tessera.Grains;
using Tessera.Infra.Specs;

namespace Tessera.Tests.Specs;

/// <summary>
/// The spec is parsed once, at submission, and travels through Orleans as it is (grain calls, grain state): what a
/// trainer gets must be exactly what it got when it parsed the resolved YAML again, value types included.
/// </summary>
public class SpecTravelTests
{
    static readonly IServiceProvider Services = new ServiceCollection()
        .AddSerializer(builder => builder.AddAssembly(typeof(ExperimentSpecConverter).Assembly).AddAssembly(typeof(ExperimentGrainState).Assembly))
        .BuildServiceProvider();
    static readonly Serializer Wire = Services.GetRequiredService<Serializer>();

    static T Deserialize<T>(byte[] bytes) => Wire.Deserialize<T>(bytes)!;
    static byte[] SerializeToArray<T>(T value) => Wire.SerializeToArray(value);

    static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Platform.sln"))) dir = dir.Parent;
        Assert.NotNull(dir);
        return dir.FullName;
    }

    public static TheoryData<string> Examples()
    {
        var data = new TheoryData<string>();
        foreach (string file in Directory.GetFiles(Path.Combine(RepoRoot(), "examples"), "*.yaml")) data.Add(Path.GetFileName(file));
        return data;
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void ASpecArrivesAsTheResolvedYamlWouldParse(string example)
    {
        var submitted = SpecParser.Parse(File.ReadAllText(Path.Combine(RepoRoot(), "examples", example)), example);
        string yaml = SpecWriter.ToYaml(submitted);
        var reparsed = SpecParser.Parse(yaml, "spec.yaml"); // what every reader did before the spec travelled parsed
        var assignment = new TrainerAssignment("x-1", 1, submitted, Rank: 0, WorldSize: 1);
        foreach (var travelled in new[]
        {
            Deserialize<TrainerAssignment>(SerializeToArray(assignment)).Spec, // to a trainer on another silo
            Services.GetRequiredService<DeepCopier>().Copy(assignment).Spec, // to one on the same silo
        })
            AssertSame(yaml, reparsed, travelled);
    }

    static void AssertSame(string yaml, ExperimentSpec reparsed, ExperimentSpec travelled)
    {

        Assert.Equal(yaml, SpecWriter.ToYaml(travelled)); // the text checkpoints embed
        Assert.Equal((reparsed.Experiment, reparsed.Seed, reparsed.Device, reparsed.Dataset, reparsed.Priority, reparsed.Team, reparsed.MaxRestarts),
            (travelled.Experiment, travelled.Seed, travelled.Device, travelled.Dataset, travelled.Priority, travelled.Team, travelled.MaxRestarts));
        Assert.Equal(reparsed.Stages.Count, travelled.Stages.Count);
        foreach (var (expected, actual) in reparsed.Stages.Zip(travelled.Stages))
        {
            Assert.Equal((expected.Name, expected.Kind), (actual.Name, actual.Kind));
            Assert.Equal(expected.After, actual.After);
            Assert.Equal(expected.Settings.Keys, actual.Settings.Keys); // in order: spec.yaml lists them so
            foreach (var (key, value) in expected.Settings)
            {
                Assert.Equal(value.GetType(), actual.Settings[key].GetType());
                Assert.Equal(value, actual.Settings[key]);
            }
        }
    }

    [Fact]
    public void EveryKindOfSettingValueKeepsItsType()
    {
        object[] values = [7, 7L, 7.0, true, "seven"];
        var stage = new StageSpec("s", "eval", values.Select((v, i) => (v, i)).ToDictionary(x => $"k{x.i}", x => x.v));
        var back = Deserialize<StageSpec>(SerializeToArray(stage));
        Assert.Equal(values, back.Settings.Values);
        Assert.Equal(values.Select(v => v.GetType()), back.Settings.Values.Select(v => v.GetType()));
    }

    [Fact]
    public void AValueThatCannotTravelIsRefusedByName()
    {
        var stage = new StageSpec("s", "eval", new Dictionary<string, object> { ["when"] = DateTime.UnixEpoch });
        var error = Assert.Throws<NotSupportedException>(() => SerializeToArray(stage));
        Assert.Contains("'when'", error.Message);
    }

    /// <summary>The experiment state as versions before the parsed spec wrote it (the same ids, no 13).</summary>
    [GenerateSerializer]
    public sealed class StateBeforeTheParsedSpec
    {
        [Id(1)] public string Name { get; set; } = "";
        [Id(2)] public string ResolvedSpecYaml { get; set; } = "";
        [Id(4)] public int StageIndex { get; set; }
    }

    [Fact]
    public void AStateWrittenBeforeTheParsedSpecStillLoadsWithoutIt()
    {
        var old = new StateBeforeTheParsedSpec { Name = "quickstart", ResolvedSpecYaml = "experiment: quickstart\n", StageIndex = 2 };
        var loaded = Deserialize<ExperimentGrainState>(SerializeToArray(old));
        Assert.Equal(("quickstart", "experiment: quickstart\n", 2), (loaded.Name, loaded.ResolvedSpecYaml, loaded.StageIndex));
        Assert.Null(loaded.Spec); // the activation parses the YAML once
    }
}
