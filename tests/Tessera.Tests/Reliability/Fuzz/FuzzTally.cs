using System.Diagnostics;

namespace Tessera.Tests.Reliability.Fuzz;

/// <summary>
/// Runs fuzz cases and sorts their outcomes: accepted, refused with a documented error that names the input, or a
/// crash (any other exception, or a documented one whose message does not name the input). The summary line is what
/// the reliability notes quote.
/// </summary>
public sealed class FuzzTally(string what)
{
    readonly Stopwatch _clock = new();
    readonly Dictionary<string, int> _refusals = [];
    readonly List<string> _crashes = [];

    public int Cases { get; private set; }
    public int Accepted { get; private set; }
    public IReadOnlyList<string> Crashes => _crashes;

    /// <summary>
    /// One case: <paramref name="action"/> must return, or throw one of <paramref name="documented"/> with
    /// <paramref name="name"/> in its message.
    /// </summary>
    public void Run(string caseId, string name, Action action, params Type[] documented)
    {
        Cases++;
        _clock.Start();
        try
        {
            action();
            Accepted++;
        }
        catch (Exception e) when (documented.Any(t => t.IsInstanceOfType(e)) && e.Message.Contains(name, StringComparison.Ordinal))
        {
            _refusals[e.GetType().Name] = _refusals.GetValueOrDefault(e.GetType().Name) + 1;
        }
        catch (Exception e)
        {
            // The innermost frames say where to fix it.
            string where = string.Join(" <- ", (e.StackTrace ?? "").Split('\n').Take(3).Select(l => l.Trim()));
            _crashes.Add($"{caseId}: {e.GetType().Name}: {e.Message} at {where}");
        }
        finally
        {
            _clock.Stop();
        }
    }

    public override string ToString() =>
        $"{what}: {Cases} cases in {_clock.Elapsed.TotalSeconds:F1} s: {Accepted} accepted, " +
        string.Join(", ", _refusals.OrderBy(r => r.Key).Select(r => $"{r.Value} {r.Key}")) + $", {_crashes.Count} crashes" +
        (_crashes.Count == 0 ? "" : ":\n" + string.Join("\n", _crashes.Take(20)));
}
