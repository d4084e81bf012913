namespace Tessera.Grains;

/// <summary>Why a running experiment is asked to stop: the reason decides what follows the stop.</summary>
public enum StopReason
{
    /// <summary>Cancel now: the ranks stop at once, and a resume continues from the stage's newest checkpoint.</summary>
    Cancel = 0,

    /// <summary>
    /// Cancel without losing steps: rank 0 of the running stage writes a checkpoint at its next step and the experiment is
    /// cancelled once it is reported, so a resume continues exactly there. A stage that cannot take such a checkpoint, or
    /// does not report one within 30 s, is cancelled from its last one; an experiment with no stage running at once.
    /// </summary>
    CancelAfterCheckpoint = 1,

    /// <summary>
    /// A planned move (its silo drains or is gone): the stage re-forms on the slots the scheduler now offers, from rank 0's
    /// next checkpoint, as a new generation. Not counted against max_restarts; ignored unless
    /// <see cref="StopRequest.StageIndex"/> is the stage running.
    /// </summary>
    Move = 2,
}

/// <summary>
/// A request to stop an experiment's running stage, with the reason that says what comes after (see
/// <see cref="StopReason"/>). <see cref="Why"/> goes to the log.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record StopRequest(
    [property: Id(0)] StopReason Reason,
    [property: Id(1)] string Why = "",
    [property: Id(2)] int StageIndex = -1)
{
    public static StopRequest Cancel { get; } = new(StopReason.Cancel);
    public static StopRequest CancelAfterCheckpoint { get; } = new(StopReason.CancelAfterCheckpoint);
    public static StopRequest Move(int stageIndex, string why) => new(StopReason.Move, why, stageIndex);
}
