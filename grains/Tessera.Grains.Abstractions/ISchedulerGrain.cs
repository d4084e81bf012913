namespace Tessera.Grains;

/// <summary>
/// The cluster-wide scheduler (singleton, key 0): the experiments submitted (for `tessera list`), the device-slot
/// inventory of every live silo, and the queue of slot requests, served by priority then age, within per-team quotas.
/// A request gets all its slots at once or waits: a stage never starts half its ranks.
/// </summary>
public interface ISchedulerGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Lists a submitted (or resumed) experiment and counts it as queued or running for its team until
    /// <see cref="Finished"/>. Throws <see cref="SubmissionQuotaException"/>, changing nothing, when the team is at
    /// its submission quota. Idempotent for an experiment already counted.
    /// </summary>
    Task Register(ExperimentListing experiment);

    /// <summary>The experiment finished or was interrupted: its slots go back and its team's submission quota frees one.</summary>
    Task Finished(string experimentId);

    Task<IReadOnlyList<ExperimentListing>> List();

    /// <summary>A silo offers its slots (at start, and again now and then; idempotent).</summary>
    Task RegisterSilo(string silo, string name, int slots);

    /// <summary>Membership declared the silo dead or it is shutting down: its slots are gone.</summary>
    Task RemoveSilo(string silo);

    /// <summary>
    /// Drains a silo (by name, address or "host:port"): it gets no new ranks and its slots leave the inventory as
    /// they come free. Returns the silo and the grants with ranks on it now. Throws for an unknown silo.
    /// </summary>
    Task<DrainResult> Drain(string silo);

    /// <summary>
    /// The grant for this request if it has (or now gets) its slots, else null: it is queued, and the caller asks
    /// again later. Asking again with the same request is idempotent.
    /// </summary>
    Task<SlotGrant?> Reserve(SlotRequest request);

    /// <summary>Gives back the experiment's slots, or takes it out of the queue.</summary>
    Task Release(string experimentId);

    /// <summary>At most <paramref name="slots"/> slots in use by the team's experiments at once; null lifts the quota.</summary>
    Task SetQuota(string team, int? slots);

    Task<ClusterSnapshot> Snapshot();
}
