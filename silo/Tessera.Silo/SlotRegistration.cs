using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Tessera.Grains;

namespace Tessera.Silo;

/// <summary>
/// This silo's side of the slot inventory: once the silo is active it offers its slots to the scheduler, and again
/// every <see cref="Refresh"/> (a scheduler that lost track learns them back); it tells the scheduler about every
/// silo membership declares dead or shutting down; and a graceful stop takes this silo's own slots away first. In
/// cluster mode that stop drains the silo first: the stages with ranks here checkpoint at their next step and re-form
/// elsewhere (bounded by <see cref="DrainPatience"/>), so a planned stop loses no training.
/// </summary>
public sealed class SlotRegistration(
    IGrainFactory grains,
    ILocalSiloDetails silo,
    IClusterMembershipService membership,
    TesseraSiloOptions options,
    ILogger<SlotRegistration> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    static readonly TimeSpan Refresh = TimeSpan.FromSeconds(30);
    static readonly TimeSpan DrainPatience = TimeSpan.FromSeconds(40);
    readonly CancellationTokenSource _stopping = new();
    readonly HashSet<SiloAddress> _reportedGone = [];
    Task _loops = Task.CompletedTask;

    /// <summary>Slots this silo offers: the option, else one per GPU or two cores in cluster mode, else unlimited (embedded).</summary>
    public int Slots => options.Slots ?? (options.IsClusterMode ? DeviceSlots.Default() : SchedulerLimits.Unlimited);

    ISchedulerGrain Scheduler => grains.GetGrain<ISchedulerGrain>(0);

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SlotRegistration), ServiceLifecycleStage.Active, OnStart, OnStop);

    Task OnStart(CancellationToken cancellationToken)
    {
        _loops = Task.WhenAll(Task.Run(OfferSlots), Task.Run(WatchMembership));
        return Task.CompletedTask;
    }

    async Task OnStop(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (options.IsClusterMode) await DrainBeforeStop(cancellationToken);
        try { await Scheduler.RemoveSilo(silo.SiloAddress.ToParsableString()).WaitAsync(cancellationToken); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Could not take this silo's slots out of the scheduler: {Error}", e.Message);
        }
        try { await _loops; }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("The slot registration loops ended with an error: {Error}", e.Message);
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>Drains this silo and waits until no stage holds a slot here (or the patience or the host's stop timeout ends).</summary>
    async Task DrainBeforeStop(CancellationToken cancellationToken)
    {
        string address = silo.SiloAddress.ToParsableString();
        try
        {
            using var patience = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            patience.CancelAfter(DrainPatience);
            var drained = await Scheduler.Drain(address).WaitAsync(patience.Token);
            if (drained.Affected.Count == 0) return;
            logger.LogInformation("Stopping: {Count} stage(s) with ranks here checkpoint and re-form elsewhere", drained.Affected.Count);
            while ((await Scheduler.Snapshot().WaitAsync(patience.Token)).Running.Any(g => g.Silos.Contains(address)))
                await Task.Delay(250, patience.Token);
        }
        catch (OperationCanceledException) { logger.LogWarning("Stopping: stages with ranks here did not move within {Seconds} s", DrainPatience.TotalSeconds); }
        catch (Exception e) { logger.LogWarning("Stopping: could not drain this silo first: {Error}", e.Message); }
    }

    async Task OfferSlots()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try { await Scheduler.RegisterSilo(silo.SiloAddress.ToParsableString(), silo.Name, Slots); }
            catch (Exception e) when (!_stopping.IsCancellationRequested)
            {
                logger.LogWarning("Could not offer this silo's slots to the scheduler (retrying): {Error}", e.Message);
            }
            await Task.Delay(Refresh, _stopping.Token).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    async Task WatchMembership()
    {
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(_stopping.Token))
            {
                foreach (var member in snapshot.Members.Values)
                {
                    if (member.Status is not (SiloStatus.Dead or SiloStatus.ShuttingDown or SiloStatus.Stopping)) continue;
                    if (member.SiloAddress.Equals(silo.SiloAddress) || !_reportedGone.Add(member.SiloAddress)) continue;
                    try { await Scheduler.RemoveSilo(member.SiloAddress.ToParsableString()); }
                    catch (Exception e) when (!_stopping.IsCancellationRequested)
                    {
                        _reportedGone.Remove(member.SiloAddress);
                        logger.LogWarning("Could not tell the scheduler that silo {Silo} is gone: {Error}", member.Name, e.Message);
                    }
                }
            }
        }
        catch (OperationCanceledException) { }
    }
}
