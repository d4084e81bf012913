using System.Collections.Concurrent;
using System.Globalization;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Display;
using Tessera.Grains;

namespace Tessera.Silo.Logging;

/// <summary>One log event of an experiment, as `tessera logs` and the API show it.</summary>
public sealed record ExperimentLogEvent(
    int Index, DateTimeOffset Time, string Level, string? Stage, string? Source, string Message, string? Exception);

/// <summary>
/// The silo's recent log events per experiment: a Serilog sink that keeps, for every event carrying an
/// <c>ExperimentId</c>, the newest <see cref="EventsPerExperiment"/> in memory, indexed from 0 in arrival order,
/// so followers poll with "since" like the metrics endpoint. The complete history is log.jsonl in the run folder.
/// </summary>
public sealed class ExperimentLogs : ILogEventSink
{
    public const int EventsPerExperiment = 2000;

    /// <summary>Experiments whose tail is kept; the one that logged longest ago goes first.</summary>
    public const int Experiments = 256;

    readonly ConcurrentDictionary<string, Tail> _tails = new(StringComparer.Ordinal);

    public void Emit(LogEvent logEvent)
    {
        if (Text(logEvent, ExperimentLogScope.ExperimentId) is not { } id) return;
        var tail = _tails.GetOrAdd(id, _ => new Tail());
        tail.Add(logEvent);
        if (_tails.Count > Experiments) EvictStalest();
    }

    /// <summary>Events from index <paramref name="since"/> on (or the oldest still kept, if those are gone), at most <paramref name="max"/>.</summary>
    public IReadOnlyList<ExperimentLogEvent> Read(string experimentId, int since, int max) =>
        _tails.TryGetValue(experimentId, out var tail) ? tail.Read(since, max) : [];

    void EvictStalest()
    {
        var stalest = _tails.MinBy(pair => pair.Value.LastWrite);
        _tails.TryRemove(stalest.Key, out _);
    }

    static string? Text(LogEvent e, string property) =>
        e.Properties.TryGetValue(property, out var value) && value is ScalarValue { Value: { } v }
            ? Convert.ToString(v, CultureInfo.InvariantCulture)
            : null;

    // Strings without quotes ("stage tokenizer", not "stage \"tokenizer\""), as a person reads them.
    static readonly MessageTemplateTextFormatter MessageOnly = new("{Message:lj}", CultureInfo.InvariantCulture);

    static string Render(LogEvent e)
    {
        var text = new StringWriter(CultureInfo.InvariantCulture);
        MessageOnly.Format(e, text);
        return text.ToString();
    }

    sealed class Tail
    {
        readonly Queue<ExperimentLogEvent> _events = new();
        int _next;

        public long LastWrite { get; private set; }

        public void Add(LogEvent e)
        {
            lock (_events)
            {
                _events.Enqueue(new ExperimentLogEvent(_next++, e.Timestamp, e.Level.ToString().ToLowerInvariant(),
                    Text(e, ExperimentLogScope.Stage), Text(e, "SourceContext"), Render(e),
                    e.Exception?.ToString()));
                if (_events.Count > EventsPerExperiment) _events.Dequeue();
                LastWrite = Environment.TickCount64;
            }
        }

        public IReadOnlyList<ExperimentLogEvent> Read(int since, int max)
        {
            lock (_events)
            {
                if (_events.Count == 0) return [];
                int skip = Math.Max(0, since - _events.Peek().Index);
                return _events.Skip(skip).Take(max).ToList();
            }
        }
    }
}
