namespace Tessera.Grains;

/// <summary>
/// One submission, keyed by the idempotency key its client chose (`tessera submit` makes one per invocation and reuses
/// it on its retries; `--idempotency-key` sets it). The first call under a key creates the experiment; every later call
/// with the same spec returns that experiment and starts nothing, also after any silo restarted (the key's experiment
/// id is persisted before the experiment is created). So a client that timed out can safely ask again.
/// </summary>
public interface ISubmissionGrain : IGrainWithStringKey
{
    /// <summary>
    /// Submits under this key: the first call creates experiment <paramref name="experimentId"/>; later calls return the
    /// experiment the key already names, whatever id they propose. A different spec under a used key is refused
    /// (<see cref="ArgumentException"/>), as are an invalid spec and a team at its quota (<see cref="SubmissionQuotaException"/>),
    /// which leave the key unused.
    /// </summary>
    Task<ExperimentStatus> Submit(string experimentId, ExperimentSubmission submission);

    /// <summary>The experiment this key created, or null if none.</summary>
    Task<string?> ExperimentId();
}
