using Tessera.Silo.Api;

using Tessera.Cli;
using Tessera.Cli.Commands;

namespace Tessera.Bench;

/// <summary>Training throughput over a time window, from an experiment's progress reports (its metrics points).</summary>
public static class TrainingThroughput
{
    /// <summary>
    /// Each report's images/s covers the interval since the previous report of the same stage; the intervals lying
    /// wholly inside [<paramref name="from"/>, <paramref name="to"/>] are averaged, weighted by their length.
    /// Returns NaN when no interval fits.
    /// </summary>
    public static (double ImagesPerSecond, int Intervals) Over(IReadOnlyList<MetricsPointDto> points, DateTimeOffset from, DateTimeOffset to)
    {
        double images = 0, seconds = 0;
        int intervals = 0;
        for (int i = 1; i < points.Count; i++)
        {
            var (previous, point) = (points[i - 1], points[i]);
            if (point.Stage != previous.Stage || previous.Time < from || point.Time > to) continue;
            double length = (point.Time - previous.Time).TotalSeconds;
            images += point.ImagesPerSecond * length;
            seconds += length;
            intervals++;
        }
        return (seconds > 0 ? images / seconds : double.NaN, intervals);
    }
}
