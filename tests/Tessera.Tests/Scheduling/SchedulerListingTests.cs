using Tessera.Grains;

namespace Tessera.Tests.Scheduling;

/// <summary>The scheduler's list of experiments stays bounded: the newest finished ones and every counted one.</summary>
public class SchedulerListingTests
{
    static readonly DateTimeOffset T0 = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void TheOldestFinishedListingsGoFirstAndCountedOnesStayWhateverTheirAge()
    {
        var state = new SchedulerGrainState();
        for (int i = 0; i < 8; i++) state.Experiments.Add(new ExperimentListing($"e{i}", "x", T0.AddMinutes(i), "team"));
        state.Active["e0"] = "team"; // the oldest, still queued
        state.Active["e6"] = "team";

        state.TrimListing(keep: 5);

        Assert.Equal(["e0", "e4", "e5", "e6", "e7"], state.Experiments.Select(e => e.Id));
    }

    [Fact]
    public void AListingWithinItsBoundOrHeldWhollyByCountedExperimentsIsLeftAlone()
    {
        var state = new SchedulerGrainState();
        for (int i = 0; i < 3; i++)
        {
            state.Experiments.Add(new ExperimentListing($"e{i}", "x", T0.AddMinutes(i), "team"));
            state.Active[$"e{i}"] = "team";
        }
        state.TrimListing(keep: 3);
        Assert.Equal(3, state.Experiments.Count);
        state.TrimListing(keep: 1); // all counted: none may go
        Assert.Equal(3, state.Experiments.Count);
    }
}
