using Tessera.Trainers.Tokenizers;

namespace Tessera.Tests.Trainers;

/// <summary>The tokenizer's shape rules as pure functions: default downsample, default scale schedule, and the errors a spec meets.</summary>
public class TokenizerShapeRuleTests
{
    [Theory]
    [InlineData(28, 4)]   // 7x7: the MNIST quickstart
    [InlineData(32, 4)]   // 8x8
    [InlineData(64, 8)]   // 8x8
    [InlineData(128, 16)] // 8x8
    [InlineData(256, 16)] // no choice reaches 8: the largest that divides
    [InlineData(36, 4)]   // 8 does not divide 36, so 9x9 at 4
    [InlineData(16, 4)]   // 4x4: the smallest that qualifies, not the coarsest
    public void DefaultDownsampleIsTheSmallestThatDividesAndLeavesAGridOfAtMostEight(int side, int expected) =>
        Assert.Equal(expected, VqTokenizerConfig.DefaultDownsample(side));

    [Fact]
    public void ASideNoDownsampleDividesIsRefusedWithAHint()
    {
        var e = Assert.Throws<ArgumentException>(() => VqTokenizerConfig.DefaultDownsample(30));
        Assert.Contains("image side 30 is not divisible", e.Message);
    }

    [Theory]
    [InlineData(4, new[] { 1, 2, 3, 4 })]
    [InlineData(7, new[] { 1, 2, 3, 4, 5, 7 })]   // must stay the MNIST schedule the quickstart trained with
    [InlineData(8, new[] { 1, 2, 3, 4, 6, 8 })]
    [InlineData(16, new[] { 1, 2, 3, 4, 6, 8, 11, 16 })]
    [InlineData(2, new[] { 1, 2 })]
    public void DefaultScaleScheduleFollowsTheDocumentedRule(int grid, int[] expected) =>
        Assert.Equal(expected, VqTokenizerConfig.DefaultScaleSchedule(grid));

    [Fact]
    public void EveryDefaultScheduleStartsAtOneIncreasesAndEndsAtTheGrid()
    {
        for (int grid = 1; grid <= 64; grid++)
        {
            var scales = VqTokenizerConfig.DefaultScaleSchedule(grid);
            Assert.Equal(1, scales[0]);
            Assert.Equal(grid, scales[^1]);
            Assert.All(scales.Zip(scales.Skip(1)), pair => Assert.True(pair.Second > pair.First, $"grid {grid}: {string.Join(",", scales)}"));
        }
    }

    static VqTokenizerConfig Colour(int side, int downsample = 0, string kind = VqTokenizerConfig.KindMsVq, string schedule = "") =>
        new() { Kind = kind, ImageSize = side, ImageChannels = 3, Downsample = downsample, ScaleSchedule = schedule };

    [Fact]
    public void TheGridAndSchedulesComeFromTheImageSideAndDownsample()
    {
        Assert.Equal(new[] { 1, 2, 3, 4, 6, 8 }, Colour(32).ScaleList());
        Assert.Equal(new[] { 1, 2, 3, 4 }, Colour(32, 8).ScaleList());
        Assert.Equal(new[] { 8 }, Colour(64, kind: VqTokenizerConfig.KindVq).ScaleList());
        Assert.Equal(new[] { 4 }, Colour(64, 16, VqTokenizerConfig.KindVq).ScaleList());
        Assert.Equal(new[] { 1, 4, 8 }, Colour(64, schedule: "1,4,8").ScaleList());
        var resolved = Colour(64).Resolved();
        Assert.Equal((8, "1,2,3,4,6,8"), (resolved.Downsample, resolved.ScaleSchedule));
    }

    [Fact]
    public void AScheduleThatMissesTheGridSideSaysWhatItShouldEndAt()
    {
        var e = Assert.Throws<ArgumentException>(() => Colour(32, schedule: "1,2,3,4,5,7").Validate());
        Assert.Contains("must end at the token grid side 8 (ImageSize 32 / downsample 4)", e.Message);
        Assert.Contains("default 1,2,3,4,6,8", e.Message);
    }

    [Fact]
    public void ShapeMistakesAreRefusedNamingTheSetting()
    {
        Assert.Contains("not divisible by Downsample 8", Assert.Throws<ArgumentException>(() => Colour(28, 8).Validate()).Message);
        Assert.Equal("Downsample", Assert.ThrowsAny<ArgumentException>(() => Colour(32, 2).Validate()).ParamName);
        var unset = Assert.ThrowsAny<ArgumentException>(() => new VqTokenizerConfig { ImageChannels = 3 }.Validate());
        Assert.Equal("ImageSize", unset.ParamName);
        Assert.Contains("dataset manifest", unset.Message);
        Assert.Equal("ImageChannels", Assert.ThrowsAny<ArgumentException>(() => new VqTokenizerConfig { ImageSize = 32 }.Validate()).ParamName);
    }
}
