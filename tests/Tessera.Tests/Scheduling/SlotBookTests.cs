using Tessera.Grains;

namespace Tessera.Tests.Scheduling;

/// <summary>The scheduler's rules on its state alone: order, quotas, all-or-nothing grants, packing.</summary>
public sealed class SlotBookTests
{
    static readonly DateTimeOffset T0 = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    static SchedulerGrainState Cluster(params (string Silo, int Slots)[] silos) => new()
    {
        Silos = silos.ToDictionary(s => s.Silo, s => new SiloEntry(s.Silo, s.Slots)),
    };

    static void Queue(SchedulerGrainState state, string id, int ranks, int priority = 0, string team = "default", int secondsLate = 0) =>
        state.Queue.Add(new QueueEntry(new SlotRequest(id, 0, ranks, priority, team), T0.AddSeconds(secondsLate)));

    [Fact]
    public void AStageGetsAllItsSlotsOrNone()
    {
        var state = Cluster(("a", 1), ("b", 1));
        Queue(state, "three", 3);
        Assert.Equal(0, SlotBook.Admit(state, T0));
        Assert.Empty(state.Grants);
        Assert.Equal("needs 3 slots, the cluster has 2", SlotBook.Waiting(state, state.Queue[0].Request, 1));

        state.Silos["c"] = new SiloEntry("c", 2);
        Assert.Equal(1, SlotBook.Admit(state, T0));
        Assert.Equal(3, state.Grants["three"].Silos.Count);
        Assert.Empty(state.Queue);
    }

    [Fact]
    public void AStageWithMinWorkersStartsOnTheFreeSlotsButNotBelowItsMinimum()
    {
        var state = Cluster(("a", 1), ("b", 1));
        state.Queue.Add(new QueueEntry(new SlotRequest("elastic", 0, 4, 0, "default", MinRanks: 3), T0));
        Assert.Equal(0, SlotBook.Admit(state, T0));
        Assert.Equal("needs 3 to 4 slots, the cluster has 2", SlotBook.Waiting(state, state.Queue[0].Request, 1));

        state.Silos["c"] = new SiloEntry("c", 1);
        Assert.Equal(1, SlotBook.Admit(state, T0));
        Assert.Equal(3, state.Grants["elastic"].Silos.Count); // 3 of its 4 workers: all that is free
        Assert.True(SlotBook.StillHolds(state, state.Grants["elastic"], new SlotRequest("elastic", 0, 4, 0, "default", MinRanks: 3)));
    }

    [Fact]
    public void AStageWithMinWorkersTakesItsFullCountWhenFreeAndCountsWhatItHoldsAgainstItsQuota()
    {
        var state = Cluster(("a", 8));
        state.Quotas["vision"] = 3;
        state.Queue.Add(new QueueEntry(new SlotRequest("full", 0, 2, 0, "default", MinRanks: 1), T0));
        state.Queue.Add(new QueueEntry(new SlotRequest("capped", 0, 4, 0, "vision", MinRanks: 2), T0.AddSeconds(1)));
        Assert.Equal(2, SlotBook.Admit(state, T0));
        Assert.Equal(2, state.Grants["full"].Silos.Count);
        Assert.Equal(3, state.Grants["capped"].Silos.Count); // the quota's 3, not its 4 workers

        state.Queue.Add(new QueueEntry(new SlotRequest("more", 0, 1, 0, "vision"), T0.AddSeconds(2)));
        Assert.Equal(0, SlotBook.Admit(state, T0));
        Assert.StartsWith("team 'vision' at its quota (3 of 3", SlotBook.Waiting(state, state.Queue[0].Request, 1));
    }

    [Fact]
    public void RanksArePackedOntoTheSilosWithMostFreeSlots()
    {
        var state = Cluster(("a", 1), ("b", 4), ("c", 2));
        Queue(state, "x", 5);
        SlotBook.Admit(state, T0);
        Assert.Equal(["b", "b", "b", "b", "c"], state.Grants["x"].Silos);
        Assert.Equal(new Dictionary<string, int> { ["a"] = 0, ["b"] = 4, ["c"] = 1 }, SlotBook.InUse(state));
    }

    [Fact]
    public void HigherPriorityFirstThenOlderFirst()
    {
        var state = Cluster(("a", 2));
        Queue(state, "old-low", 1, priority: 0, secondsLate: 0);
        Queue(state, "new-high", 1, priority: 5, secondsLate: 10);
        Queue(state, "newer-low", 1, priority: 0, secondsLate: 20);
        SlotBook.Admit(state, T0);
        Assert.Equal(["new-high", "old-low"], state.Grants.Keys.Order());
        Assert.Equal("newer-low", Assert.Single(state.Queue).Request.ExperimentId);
    }

    [Fact]
    public void ALargeStageAtTheHeadIsNotStarvedBySmallOnesBehindIt()
    {
        var state = Cluster(("a", 2));
        Queue(state, "running", 1);
        SlotBook.Admit(state, T0);
        Queue(state, "big", 2, secondsLate: 1);
        Queue(state, "small", 1, secondsLate: 2);
        Assert.Equal(0, SlotBook.Admit(state, T0));
        var order = SlotBook.InOrder(state.Queue).ToList();
        Assert.Equal("needs 2 slots, 1 free", SlotBook.Waiting(state, order[0].Request, 1));
        Assert.Equal("behind 1 other request(s)", SlotBook.Waiting(state, order[1].Request, 2));

        state.Grants.Remove("running");
        SlotBook.Admit(state, T0);
        Assert.Contains("big", state.Grants.Keys);
        Assert.Equal("small", Assert.Single(state.Queue).Request.ExperimentId);
    }

    [Fact]
    public void ATeamAtItsQuotaWaitsWithoutHoldingUpOtherTeams()
    {
        var state = Cluster(("a", 4));
        state.Quotas["vision"] = 2;
        Queue(state, "v1", 2, team: "vision");
        Queue(state, "v2", 1, team: "vision", secondsLate: 1);
        Queue(state, "o1", 1, team: "other", secondsLate: 2);
        SlotBook.Admit(state, T0);
        Assert.Equal(["o1", "v1"], state.Grants.Keys.Order());
        var waiting = Assert.Single(state.Queue);
        Assert.Equal("team 'vision' at its quota (2 of 2 slots in use)", SlotBook.Waiting(state, waiting.Request, 1));
    }

    [Fact]
    public void SlotsOnASiloThatLeftAreNotCounted()
    {
        var state = Cluster(("a", 1), ("b", 1));
        Queue(state, "x", 2);
        SlotBook.Admit(state, T0);
        state.Silos.Remove("b");
        Assert.Equal(new Dictionary<string, int> { ["a"] = 1 }, SlotBook.InUse(state));
    }

    [Fact]
    public void ADrainingSiloTakesNoNewRanksButKeepsThoseItHas()
    {
        var state = Cluster(("a", 2), ("b", 2));
        Queue(state, "x", 2);
        SlotBook.Admit(state, T0);
        Assert.Equal(["a", "a"], state.Grants["x"].Silos);
        state.Draining.Add("b");
        Queue(state, "y", 1, secondsLate: 1);
        Assert.Equal(0, SlotBook.Admit(state, T0));
        Assert.Equal("needs 1 slots, 0 free", SlotBook.Waiting(state, state.Queue[0].Request, 1));
        Assert.Equal(2, SlotBook.InUse(state)["a"]);

        state.Grants.Remove("x");
        SlotBook.Admit(state, T0);
        Assert.Equal(["a"], state.Grants["y"].Silos);
    }

    [Fact]
    public void AGrantOnASiloThatLeftNoLongerAnswersItsRequest()
    {
        var state = Cluster(("a", 1), ("b", 1));
        Queue(state, "x", 2);
        SlotBook.Admit(state, T0);
        var grant = state.Grants["x"];
        Assert.True(SlotBook.StillHolds(state, grant, grant.Request));
        Assert.False(SlotBook.StillHolds(state, grant, grant.Request with { StageIndex = 1 }));
        state.Silos.Remove("b");
        Assert.False(SlotBook.StillHolds(state, grant, grant.Request));
    }

    [Fact]
    public void UnlimitedSilosTakeAnyStage()
    {
        var state = Cluster(("embedded", SchedulerLimits.Unlimited));
        Queue(state, "x", 8);
        Queue(state, "y", 4, secondsLate: 1);
        Assert.Equal(2, SlotBook.Admit(state, T0));
        Assert.All(state.Grants["x"].Silos, s => Assert.Equal("embedded", s));
    }
}
