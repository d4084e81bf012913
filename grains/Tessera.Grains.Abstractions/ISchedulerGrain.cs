namespace Tessera.Grains;

/// <summary>
/// The cluster-wide queue of experiments (singleton, key 0). Today it records submissions for listing;
/// admission, device slots and quotas come with cluster mode.
/// </summary>
public interface ISchedulerGrain : IGrainWithIntegerKey
{
    Task Register(ExperimentListing experiment);

    Task<IReadOnlyList<ExperimentListing>> List();
}
