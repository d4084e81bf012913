using Tessera.Stages;
using Tessera.Trainers.Distributed;

namespace Tessera.Tests.Distributed;

/// <summary>Which rows a rank trains on when a stage of W workers runs on k ranks (min_workers): rank r runs workers r, r + k, ...</summary>
public sealed class VirtualRankSliceTests
{
    [Fact]
    public void EachRankDrawsTheSlicesOfItsWorkersAndTogetherTheRanksDrawTheGlobalBatch()
    {
        const int Batch = 12;
        var whole = new ShardIndex([10, 15], seed: 3).NextBatch(Batch);
        var ranks = Enumerable.Range(0, 2)
            .Select(r => new ShardIndex([10, 15], seed: 3, new DataParallel(r, 2, SoloReducer.Instance, Workers: 4)).NextBatch(Batch))
            .ToArray();

        Assert.Equal(whole[0..3].Concat(whole[6..9]), ranks[0]);   // workers 0 and 2
        Assert.Equal(whole[3..6].Concat(whole[9..12]), ranks[1]);  // workers 1 and 3
        Assert.Equal([0, 1, 2, 6, 7, 8], GradientAccumulation.GlobalRows(new DataParallel(0, 2, SoloReducer.Instance, Workers: 4), Batch));
    }

    [Fact]
    public void MoreRanksThanWorkersIsRefused()
    {
        var parallel = new DataParallel(0, 3, SoloReducer.Instance, Workers: 2);
        var error = Assert.Throws<ArgumentException>(() => parallel.VirtualRanks);
        Assert.Contains("3 ranks for 2 workers", error.Message);
    }
}
