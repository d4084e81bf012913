namespace Tessera.Cli.Output;

/// <summary>
/// Client calls that ride out a silo dying. A grain on a SIGKILLed silo does not answer until membership declares
/// that silo dead (seconds to a minute); its calls time out, or fail as unavailable, and then the grain is
/// activated elsewhere. So a status poll that fails that way is asked again, each attempt cut off after
/// <see cref="CallTimeout"/>, with one message per outage, until it answers or <see cref="Patience"/> has passed since
/// the first failure (then the last error is thrown): never a hang, never a give-up at the first timeout.
/// Errors that are answers (an unknown id, a bad argument) are not retried.
/// </summary>
public sealed class UnreachableRetry(TimeSpan callTimeout, TimeSpan patience, TimeSpan pause)
{
    /// <summary>What the CLI uses: 10 s per attempt, 3 minutes in all, a second between attempts.</summary>
    public static UnreachableRetry Default { get; } = new(TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(3), TimeSpan.FromSeconds(1));

    public TimeSpan CallTimeout { get; } = callTimeout;
    public TimeSpan Patience { get; } = patience;

    /// <param name="say">Told once when an outage starts ("silo unreachable, retrying...") and once when it ends.</param>
    public async Task<T> RunAsync<T>(Func<Task<T>> call, Action<string> say, CancellationToken cancellationToken)
    {
        DateTime? since = null;
        while (true)
        {
            try
            {
                T result = await call().WaitAsync(CallTimeout, cancellationToken);
                if (since is { } start) say($"silo reachable again after {(DateTime.UtcNow - start).TotalSeconds:F0} s");
                return result;
            }
            catch (Exception e) when (IsTransient(e) && !cancellationToken.IsCancellationRequested)
            {
                if (since is null)
                {
                    since = DateTime.UtcNow;
                    say($"silo unreachable ({e.GetType().Name}: {FirstLine(e.Message)}), retrying for up to {Patience.TotalSeconds:F0} s...");
                }
                if (DateTime.UtcNow - since > Patience)
                    throw new TimeoutException($"the cluster did not answer for {Patience.TotalSeconds:F0} s: {FirstLine(e.Message)}", e);
                await Task.Delay(pause, cancellationToken);
            }
        }
    }

    /// <summary>Timeouts and Orleans' own failures (silo unavailable, message rejected, gateway lost) pass; answers do not.</summary>
    public static bool IsTransient(Exception e) => e is TimeoutException or OrleansException;

    static string FirstLine(string message) => message.Split('\n')[0];
}
