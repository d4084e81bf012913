namespace Tessera.Grains;

/// <summary>
/// A submission refused because its team already has its quota of experiments queued or running (the silos'
/// <c>submission_quota</c>). Nothing was started; the same submission may be sent again once one of them finishes.
/// </summary>
[GenerateSerializer]
public sealed class SubmissionQuotaException : Exception
{
    public SubmissionQuotaException(string team, int quota, int active)
        : base($"team '{team}' is at its submission quota: {active} of {quota} experiment(s) queued or running " +
               "(silo setting submission_quota, TESSERA_SUBMISSION_QUOTA); submit again when one of them has finished")
    {
        Team = team;
        Quota = quota;
        Active = active;
    }

    [Id(0)] public string Team { get; init; }
    [Id(1)] public int Quota { get; init; }
    [Id(2)] public int Active { get; init; }
}
