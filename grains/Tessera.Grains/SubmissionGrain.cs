namespace Tessera.Grains;

/// <summary>
/// An idempotency key and the experiment it created (see <see cref="ISubmissionGrain"/>). The key's experiment id and
/// submission are written before the experiment is asked to start, so a retry after any failure (this silo died, the
/// client timed out) submits exactly the same thing to exactly the same experiment, which answers an identical
/// submission with its status instead of starting again.
/// </summary>
public sealed class SubmissionGrain(
    [PersistentState("submission", GrainStorage.Experiments)] IPersistentState<SubmissionGrainState> state)
    : Grain, ISubmissionGrain
{
    /// <summary>Longest idempotency key accepted: keys are grain keys and storage keys, not documents.</summary>
    public const int MaxKeyLength = 128;

    SubmissionGrainState S => state.State;

    public async Task<ExperimentStatus> Submit(string experimentId, ExperimentSubmission submission)
    {
        string key = this.GetPrimaryKeyString();
        if (key.Length is 0 or > MaxKeyLength)
            throw new ArgumentException($"an idempotency key must have 1 to {MaxKeyLength} characters, this one has {key.Length}");
        if (S.ExperimentId is null)
        {
            if (string.IsNullOrWhiteSpace(experimentId)) throw new ArgumentException("the submission names no experiment id");
            S.ExperimentId = experimentId;
            S.Submission = submission;
            await state.WriteStateAsync();
        }
        else if (S.Submission!.SpecYaml != submission.SpecYaml)
        {
            throw new ArgumentException(
                $"idempotency key '{key}' was already used to submit experiment '{S.ExperimentId}' with another spec; use a new key for a new experiment");
        }

        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await GrainFactory.GetGrain<IExperimentGrain>(S.ExperimentId).Submit(S.Submission!);
            }
            catch (Exception e) when (e is ArgumentException or SubmissionQuotaException)
            {
                // Refused before anything started (an invalid spec, a team at its quota): the key stays free for another try.
                await state.ClearStateAsync();
                throw;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // Another submission already has this id (ids carry a random suffix, and a burst of one spec can draw the
                // same one twice in a second): this key takes a longer id of its own; nothing of it started under the old one.
                S.ExperimentId = $"{S.ExperimentId}-{Random.Shared.Next(0x10000):x4}";
                await state.WriteStateAsync();
            }
        }
    }

    public Task<string?> ExperimentId() => Task.FromResult(S.ExperimentId);
}

/// <summary>What a submission key keeps: the experiment it created and exactly what was submitted.</summary>
[GenerateSerializer]
public sealed class SubmissionGrainState
{
    [Id(0)] public string? ExperimentId { get; set; }
    [Id(1)] public ExperimentSubmission? Submission { get; set; }
}
