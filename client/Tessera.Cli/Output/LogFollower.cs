using System.Globalization;
using Tessera.Grains;
using Tessera.Silo.Api;
using Tessera.Silo.Logging;

namespace Tessera.Cli.Output;

/// <summary>
/// Reads one experiment's log events from a silo's API page by page (<c>/logs?since=N</c>) and prints each once;
/// when following, polls until a page says the experiment has finished.
/// </summary>
public static class LogFollower
{
    const int PageSize = 500;

    /// <summary>Prints the events and returns the experiment's state as of the last page read.</summary>
    public static async Task<ExperimentState> RunAsync(SiloApi api, string id, bool follow, TextWriter output, TimeSpan pollInterval,
        CancellationToken cancellationToken)
    {
        int since = 0;
        while (true)
        {
            var page = await api.GetAsync<LogPage>(
                $"api/experiments/{Uri.EscapeDataString(id)}/logs?since={since}&max={PageSize}", cancellationToken);
            if (page.Events.Count > 0 && page.Events[0].Index > since)
                output.WriteLine($"... {page.Events[0].Index - since} earlier event(s) are no longer in the silo's memory; all are in {id}/log.jsonl");
            foreach (var e in page.Events) Write(output, e);
            await output.FlushAsync(cancellationToken);
            since = page.Next;
            if (page.Events.Count >= PageSize) continue;
            // The silo reads the state before the events, so the page that says "finished" holds the last events.
            if (!follow || page.Finished) return page.State;
            await Task.Delay(pollInterval, cancellationToken);
        }
    }

    static void Write(TextWriter output, ExperimentLogEvent e)
    {
        string stage = e.Stage is null ? "" : $" [{e.Stage}]";
        output.WriteLine($"{e.Time.ToLocalTime().ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture)} {Level(e.Level)}{stage} {e.Message}");
        if (e.Exception is not null) output.WriteLine(e.Exception);
    }

    static string Level(string level) => level switch
    {
        "verbose" => "VRB", "debug" => "DBG", "information" => "INF", "warning" => "WRN", "error" => "ERR", "fatal" => "FTL",
        _ => level.ToUpperInvariant(),
    };
}
