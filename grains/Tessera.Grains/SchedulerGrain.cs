namespace Tessera.Grains;

/// <summary>Records every submitted experiment so `tessera list` can show them, newest first.</summary>
public sealed class SchedulerGrain(
    [PersistentState("scheduler", GrainStorage.Experiments)] IPersistentState<SchedulerGrainState> state)
    : Grain, ISchedulerGrain
{
    public async Task Register(ExperimentListing experiment)
    {
        if (state.State.Experiments.Any(e => e.Id == experiment.Id)) return;
        state.State.Experiments.Add(experiment);
        await state.WriteStateAsync();
    }

    public Task<IReadOnlyList<ExperimentListing>> List() =>
        Task.FromResult<IReadOnlyList<ExperimentListing>>(
            state.State.Experiments.OrderByDescending(e => e.SubmittedAt).ToList());
}

[GenerateSerializer]
public sealed class SchedulerGrainState
{
    [Id(0)] public List<ExperimentListing> Experiments { get; set; } = [];
}
