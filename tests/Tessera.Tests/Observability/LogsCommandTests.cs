using Tessera.Cli;
using Tessera.Cli.Output;
using Tessera.Grains;
using Tessera.Tests.Dashboard;

namespace Tessera.Tests.Observability;

/// <summary>`tessera logs` against a real silo's HTTP API: follows to the end, exit codes, what it prints.</summary>
[Collection(DashboardCollection.Name)]
public sealed class LogsCommandTests(DashboardSilo silo)
{
    [Fact]
    public async Task FollowPrintsEveryEventOnceAndStopsWhenTheExperimentEnds()
    {
        string id = await silo.SubmitTokenizer("follow", steps: 6, logEvery: 2);
        using var api = SiloApi.OnPort(silo.HttpPort);
        var output = new StringWriter();

        // Started while the experiment is still pending or running: it must keep polling until the end.
        var state = await LogFollower.RunAsync(api, id, follow: true, output, TimeSpan.FromMilliseconds(100), CancellationToken.None);

        Assert.Equal(ExperimentState.Succeeded, state);
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["Step 2/6", "Step 4/6", "Step 6/6"], lines.Where(l => l.Contains(" Step ")).Select(l => l[(l.IndexOf("Step ") )..][..8]));
        Assert.Contains(lines, l => l.Contains("INF [tokenizer] Step 6/6"));
        Assert.Contains("finished: succeeded", lines[^1]);
        Assert.Equal(lines.Length, lines.Distinct().Count());
    }

    [Fact]
    public async Task CommandExitCodes()
    {
        string id = await silo.SubmitTokenizer("logexit", steps: 2, logEvery: 1);
        string port = silo.HttpPort.ToString();
        Assert.Equal(ExitCodes.Success, await TesseraApp.RunAsync(["logs", id, "--follow", "--http", port]));
        Assert.Equal(ExitCodes.Success, await TesseraApp.RunAsync(["logs", id, "--http", port]));
        Assert.Equal(ExitCodes.InvalidInput, await TesseraApp.RunAsync(["logs", "no-such-experiment", "--http", port]));

        string cancelled = await silo.SubmitTokenizer("logcancel", steps: 5000, logEvery: 10);
        await silo.Client.GetGrain<IExperimentGrain>(cancelled).Stop(StopRequest.Cancel);
        Assert.Equal(ExitCodes.Failed, await TesseraApp.RunAsync(["logs", cancelled, "--follow", "--http", port]));

        Assert.Equal(ExitCodes.Unavailable, await TesseraApp.RunAsync(["logs", id, "--http", FreePort().ToString()]));
    }

    static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
