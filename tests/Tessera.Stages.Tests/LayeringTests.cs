using System.Reflection;
using Tessera.Stages;
using Tessera.Trainers;

namespace Tessera.Stages.Tests;

/// <summary>
/// The layers of docs/architecture.md, checked on the built assemblies: the trainers and the stage layer never load
/// Orleans (so they run and are tested alone, as this project does), and the stage layer's runners are reachable
/// without a grain.
/// </summary>
public class LayeringTests
{
    static IEnumerable<string> Closure(Assembly root)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<AssemblyName>(root.GetReferencedAssemblies());
        while (pending.TryPop(out var name))
        {
            if (!seen.Add(name.Name!) || !name.Name!.StartsWith("Tessera", StringComparison.Ordinal)) continue;
            foreach (var next in Assembly.Load(name).GetReferencedAssemblies()) pending.Push(next);
        }
        return seen;
    }

    [Theory]
    [InlineData(typeof(StageRunner))]
    [InlineData(typeof(TorchRuntime))]
    public void TrainersAndStagesReferenceNoOrleans(Type layer)
    {
        var closure = Closure(layer.Assembly).ToList();
        Assert.Contains("Tessera.Infra", closure); // the walk does reach the projects below
        Assert.DoesNotContain(closure, name => name.StartsWith("Orleans", StringComparison.Ordinal) || name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal));
        Assert.DoesNotContain(closure, name => name.StartsWith("Tessera.Grains", StringComparison.Ordinal) || name == "tessera");
    }
}
