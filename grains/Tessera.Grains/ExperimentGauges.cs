using Tessera.Infra.Telemetry;

namespace Tessera.Grains;

/// <summary>
/// Keeps this process's experiment gauges (see <see cref="TesseraMetrics"/>) in step with an experiment's state: every
/// move of the state goes through here, and a state loaded from storage is counted once before it first moves.
/// </summary>
sealed class ExperimentGauges
{
    // Whether this process's gauges include this experiment.
    bool _counted;

    /// <summary>A new experiment, counted in the state it starts in.</summary>
    public void Submitted(ExperimentState state)
    {
        TesseraMetrics.ExperimentMoved(null, state.Name(), finished: false);
        _counted = true;
    }

    public void MoveTo(ExperimentGrainState s, ExperimentState next)
    {
        CountLoadedState(s);
        TesseraMetrics.ExperimentMoved(s.State.Name(), next.Name(), finished: next is not (ExperimentState.Pending or ExperimentState.Running));
        s.State = next;
    }

    /// <summary>Resumed: pending again (a finished experiment also leaves the finished count).</summary>
    public void Resumed(ExperimentGrainState s)
    {
        if (!s.State.IsFinished())
        {
            MoveTo(s, ExperimentState.Pending);
            return;
        }
        CountLoadedState(s);
        TesseraMetrics.ExperimentResumed(s.State.Name());
        s.State = ExperimentState.Pending;
    }

    /// <summary>A state loaded from storage was counted by the process that wrote it: count it here before moving it.</summary>
    void CountLoadedState(ExperimentGrainState s)
    {
        if (_counted) return;
        _counted = true;
        TesseraMetrics.ExperimentMoved(null, s.State.Name(), finished: s.State.IsFinished());
    }
}
