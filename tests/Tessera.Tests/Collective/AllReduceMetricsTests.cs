using System.Diagnostics.Metrics;
using Tessera.Collective;
using Tessera.Infra.Telemetry;

namespace Tessera.Tests.Collective;

/// <summary>The ring records every all-reduce's bytes and seconds on the Tessera meter, tagged with its experiment.</summary>
public sealed class AllReduceMetricsTests
{
    [Fact]
    public async Task EachRankRecordsItsBufferBytesAndTime()
    {
        string experiment = $"allreduce-metrics-{Guid.NewGuid():N}";
        var bytes = new List<long>();
        var seconds = new List<double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == TesseraMetrics.MeterName && instrument.Name.StartsWith("tessera.allreduce.")) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) => { if (Tagged(tags, experiment)) lock (bytes) bytes.Add(value); });
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) => { if (Tagged(tags, experiment)) lock (seconds) seconds.Add(value); });
        listener.Start();

        await using var cluster = await LoopbackCluster.StartAsync(2);
        var rings = await Rings.JoinAllAsync(cluster, experiment);
        try
        {
            await Task.WhenAll(rings.Select(ring => ring.AllReduceAsync(new float[1000], ReduceOp.Average)));
        }
        finally { await Rings.DisposeAllAsync(rings); }

        Assert.Equal([4000L, 4000L], bytes);
        Assert.Equal(2, seconds.Count);
        Assert.All(seconds, s => Assert.InRange(s, 1e-7, 60));
    }

    static bool Tagged(ReadOnlySpan<KeyValuePair<string, object?>> tags, string experiment)
    {
        foreach (var tag in tags)
            if (tag.Key == "experiment" && tag.Value as string == experiment) return true;
        return false;
    }
}
