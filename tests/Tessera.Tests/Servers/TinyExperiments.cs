using Tessera.Grains;

namespace Tessera.Tests.Servers;

/// <summary>Tokenizer experiments small enough for cluster tests, and waiting on them.</summary>
public static class TinyExperiments
{
    /// <param name="minWorkers">0: the stage waits for all its workers' slots.</param>
    public static string TokenizerSpec(string experiment, int steps, int workers = 1, int logEvery = 3, int checkpointEvery = 250,
        int minWorkers = 0) => $"""
        experiment: {experiment}
        seed: 2
        device: cpu
        dataset:
          name: mnist
          shards: 2
        stages:
          - kind: tokenizer
            steps: {steps}
            batch_size: 8
            log_every: {logEvery}
            warmup_steps: 1
            workers: {workers}
            min_workers: {minWorkers}
            checkpoint_every: {checkpointEvery}
            quantizer: simvq
            hidden_channels: 8
            latent_channels: 8
        """;

    public static Task<ExperimentStatus> Submit(IClusterClient client, string id, string spec) =>
        client.GetGrain<IExperimentGrain>(id).Submit(new ExperimentSubmission(spec, "tiny.yaml", DateTimeOffset.UtcNow));

    /// <summary>Polls until <paramref name="done"/> holds, failing the test with the last status after <paramref name="timeout"/>.</summary>
    public static async Task<ExperimentStatus> WaitFor(IClusterClient client, string id, Func<ExperimentStatus, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var status = await client.GetGrain<IExperimentGrain>(id).GetStatus();
            if (done(status)) return status;
            Assert.True(DateTime.UtcNow < deadline, $"{id} not there after {timeout.TotalSeconds:F0}s: {status.State} {status.Error}");
            await Task.Delay(200);
        }
    }

    public static Task<ExperimentStatus> WaitUntilFinished(IClusterClient client, string id) =>
        WaitFor(client, id, s => s.IsFinished, TimeSpan.FromMinutes(2));
}
