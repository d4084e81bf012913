namespace Tessera.Trainers;

/// <summary>
/// Checkpoints taken while a stage trains, so an interrupted stage resumes near where it stopped rather than from
/// step 0. A trainer calls <see cref="AfterStep"/> once per completed step, on its training thread between steps;
/// <see cref="Save"/> gets the step count and writes the trainer's checkpoint. The last step is never saved here on
/// schedule: the stage writes its final checkpoint itself. <see cref="Demand"/>, if given, also saves at the first
/// step boundary after someone asked (a drain: the stage is about to move, and should lose no steps).
/// </summary>
public sealed record PeriodicCheckpoint(int Every, Action<int> Save, CheckpointDemand? Demand = null)
{
    public void AfterStep(int step, int totalSteps)
    {
        bool due = Every > 0 && step % Every == 0 && step < totalSteps;
        if (Demand?.Take() == true || due) Save(step);
    }
}

/// <summary>
/// A checkpoint asked for from outside the training thread, taken at the trainer's next step boundary. Thread-safe:
/// <see cref="Request"/> from any thread, <see cref="Take"/> from the training thread.
/// </summary>
public sealed class CheckpointDemand
{
    int _pending;
    volatile bool _armed;

    /// <summary>Whether a training loop checks this demand (set when it is wired into a <see cref="PeriodicCheckpoint"/>).</summary>
    public bool Armed => _armed;

    public void Arm() => _armed = true;

    public void Request() => Interlocked.Exchange(ref _pending, 1);

    /// <summary>True once per request: the caller saves now.</summary>
    public bool Take() => Interlocked.Exchange(ref _pending, 0) == 1;
}
