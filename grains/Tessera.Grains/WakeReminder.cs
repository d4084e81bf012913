using Microsoft.Extensions.Logging;

namespace Tessera.Grains;

/// <summary>
/// A live experiment keeps a reminder (Redis-backed in a cluster). If every silo stops, nothing would call the
/// experiment again until someone asks for it; the reminder activates it once the cluster is back, and activation
/// carries on (max_restarts) or records it as interrupted (see ExperimentGrain.OnActivateAsync).
/// </summary>
sealed class WakeReminder(IGrainBase grain, string experimentId, ILogger logger)
{
    public const string Name = "wake";

    bool _kept;

    public async Task Keep()
    {
        if (_kept) return;
        try
        {
            await grain.RegisterOrUpdateReminder(Name, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
            _kept = true;
        }
        catch (Exception e) { logger.LogWarning("Experiment {Id}: could not keep its wake-up reminder: {Problem}", experimentId, e.Message); }
    }

    public async Task Drop()
    {
        try
        {
            if (await grain.GetReminder(Name) is { } reminder) await grain.UnregisterReminder(reminder);
            _kept = false;
        }
        catch (Exception e) { logger.LogWarning("Experiment {Id}: could not drop its wake-up reminder: {Problem}", experimentId, e.Message); }
    }
}
