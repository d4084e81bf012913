namespace Tessera.Grains;

/// <summary>
/// The most experiments a team may have queued or running at once (the silo setting <c>submission_quota</c>); null
/// means no limit, the default. Counted by the scheduler from submission until the experiment finishes or is
/// interrupted. Every silo of a cluster should be given the same value: the scheduler uses its own silo's.
/// </summary>
public sealed record SubmissionQuota(int? PerTeam)
{
    public static readonly SubmissionQuota None = new((int?)null);
}
