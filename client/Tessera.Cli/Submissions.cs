using Orleans.Runtime;
using Tessera.Grains;

namespace Tessera.Cli;

/// <summary>
/// Submits under an idempotency key and retries what may not have arrived (a response timeout, a silo gone or too busy)
/// with the same key, so a slow or failing cluster gives neither a second experiment nor a silent loss: the experiment is
/// created once whichever attempt gets through, and every attempt after that returns its id.
/// </summary>
public static class Submissions
{
    /// <summary>Attempts of one submission by default: with Orleans' 30 s response timeout, about two and a half minutes.</summary>
    public const int DefaultAttempts = 5;

    /// <summary>A fresh idempotency key: one per `tessera submit` invocation, or per submission of `bench submit`.</summary>
    public static string NewKey() => Guid.NewGuid().ToString("N");

    /// <summary>Letters, digits and <c>. _ : -</c>, 1 to 128 of them; null if fine, else what is wrong.</summary>
    public static string? CheckKey(string key) =>
        key.Length is >= 1 and <= SubmissionGrain.MaxKeyLength && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '-')
            ? null
            : $"'{key}' must be 1 to {SubmissionGrain.MaxKeyLength} ASCII letters, digits or . _ : -";

    /// <summary>Whether the call may not have been answered although the cluster may have taken it: worth the same key again.</summary>
    public static bool IsTransient(Exception e) =>
        e is TimeoutException or OrleansMessageRejectionException or Orleans.Runtime.Messaging.ConnectionFailedException;

    /// <summary>
    /// Submits <paramref name="submission"/> under <paramref name="key"/>, up to <paramref name="attempts"/> times while the
    /// failure is transient (backing off 1, 2, 4, ... s, at most 10 s). After the last, throws
    /// <see cref="SubmissionUnansweredException"/> naming the cluster and the key. Refusals (invalid spec, quota) are not retried.
    /// </summary>
    public static Task<ExperimentStatus> SubmitAsync(IClusterClient client, string where, string key, string experimentId,
        ExperimentSubmission submission, int attempts, Action<int, Exception>? retrying, CancellationToken cancellationToken) =>
        SubmitAsync(client.GetGrain<ISubmissionGrain>(key), key, where, experimentId, submission, attempts, retrying, cancellationToken);

    /// <summary>The same, through <paramref name="grain"/>, the submission grain of <paramref name="key"/>.</summary>
    public static async Task<ExperimentStatus> SubmitAsync(ISubmissionGrain grain, string key, string where, string experimentId,
        ExperimentSubmission submission, int attempts, Action<int, Exception>? retrying, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            try { return await grain.Submit(experimentId, submission); }
            catch (Exception e) when (IsTransient(e))
            {
                if (attempt >= attempts) throw new SubmissionUnansweredException(where, key, attempts, e);
                retrying?.Invoke(attempt, e);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(10, 1 << (attempt - 1))), cancellationToken);
            }
        }
    }
}

/// <summary>No attempt of a submission was answered: it may or may not have been taken, and the key tells which.</summary>
public sealed class SubmissionUnansweredException(string where, string key, int attempts, Exception last) : Exception(
    $"the cluster at {where} did not answer the submission after {attempts} attempt(s) (last: {last.GetType().Name}: {FirstLine(last.Message)}). " +
    $"It may have been taken: `tessera submit ... --idempotency-key {key}` prints its id if so, and starts it once if not.", last)
{
    public string Key { get; } = key;

    static string FirstLine(string message) => message.Split('\n')[0].Trim();
}
