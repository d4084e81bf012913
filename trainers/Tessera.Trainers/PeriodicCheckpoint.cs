namespace Tessera.Trainers;

/// <summary>
/// Checkpoints taken while a stage trains, so an interrupted stage resumes near where it stopped rather than from
/// step 0. A trainer calls <see cref="AfterStep"/> once per completed step, on its training thread between steps;
/// <see cref="Save"/> gets the step count and writes the trainer's checkpoint. The last step is never saved here:
/// the stage writes its final checkpoint itself.
/// </summary>
public sealed record PeriodicCheckpoint(int Every, Action<int> Save)
{
    public void AfterStep(int step, int totalSteps)
    {
        if (Every > 0 && step % Every == 0 && step < totalSteps) Save(step);
    }
}
