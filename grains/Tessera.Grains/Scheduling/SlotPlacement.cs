using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace Tessera.Grains;

/// <summary>Trainer grains go where the scheduler reserved their slot (see <see cref="SlotPlacementDirector"/>).</summary>
[GenerateSerializer, Immutable]
public sealed class SlotPlacementStrategy : PlacementStrategy;

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SlotPlacementAttribute() : PlacementAttribute(new SlotPlacementStrategy());

/// <summary>
/// Places an activation on the silo named in the call's request context (<see cref="On"/>, set by the experiment
/// grain from its slot grant). Without one, or when that silo is not (or no longer) a compatible member, it falls
/// back to the calling silo when it can host the grain, else any compatible silo, so embedded mode and tests
/// behave as before.
/// </summary>
public sealed class SlotPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var compatible = context.GetCompatibleSilos(target);
        if (IPlacementDirector.GetPlacementHint(target.RequestContextData, compatible) is { } hinted)
            return Task.FromResult(hinted);
        if (compatible.Contains(context.LocalSilo)) return Task.FromResult(context.LocalSilo);
        return Task.FromResult(compatible[Random.Shared.Next(compatible.Length)]);
    }

    /// <summary>
    /// Within the returned scope, grain calls made from this async flow place new activations on <paramref name="silo"/>
    /// (a parsable silo address from a <see cref="SlotGrant"/>).
    /// </summary>
    public static IDisposable On(string silo)
    {
        RequestContext.Set(IPlacementDirector.PlacementHintKey, SiloAddress.FromParsableString(silo));
        return new Scope();
    }

    sealed class Scope : IDisposable
    {
        public void Dispose() => RequestContext.Remove(IPlacementDirector.PlacementHintKey);
    }
}
