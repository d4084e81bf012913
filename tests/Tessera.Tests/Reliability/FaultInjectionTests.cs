using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tessera.Grains;
using Tessera.Silo;
using Tessera.Silo.Security;
using Tessera.Tests.Servers;

namespace Tessera.Tests.Reliability;

/// <summary>
/// The chaos script's rank-killing hook: absent (404) on a silo started without fault injection, behind the cluster
/// token on one started with it, and there it fails a running rank the way a crashed worker fails: the stage reports
/// the failure and, with no restarts allowed, the experiment fails naming the injected fault.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class FaultInjectionTests : IDisposable
{
    const string Token = "fault-injection-token-0123456789";
    readonly string _root = Path.Combine(Path.GetTempPath(), $"tessera-faults-{Guid.NewGuid():N}");

    TesseraSiloOptions Options(bool faults) => new()
    {
        ArtifactRoot = Path.Combine(_root, faults ? "on" : "off"), SiloPort = 0, GatewayPort = 0, HttpPort = 0, TorchThreads = 1,
        OrleansDashboard = false, Tokens = ClusterTokens.Parse(Token), EnableFaultInjection = faults,
    };

    static HttpClient Http(string token)
    {
        var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    [Fact]
    public async Task WithoutTheFlagTheEndpointsDoNotExist()
    {
        await using var app = TesseraWebHost.Build(Options(faults: false));
        await app.StartAsync();
        try
        {
            var url = new Uri(TesseraWebHost.DashboardUrl(app));
            using var http = Http(Token);
            using var kill = await http.PostAsync(new Uri(url, "api/faults/kill-rank"), null);
            Assert.Equal(HttpStatusCode.NotFound, kill.StatusCode);
            using var ranks = await http.GetAsync(new Uri(url, "api/faults/ranks"));
            Assert.Equal(HttpStatusCode.NotFound, ranks.StatusCode);
        }
        finally { await app.StopAsync(); }
    }

    [Fact]
    public async Task WithTheFlagAKilledRankFailsItsStageBehindTheToken()
    {
        await using var app = TesseraWebHost.Build(Options(faults: true));
        await app.StartAsync();
        try
        {
            var url = new Uri(TesseraWebHost.DashboardUrl(app));
            using (var anonymous = new HttpClient())
            using (var refused = await anonymous.PostAsync(new Uri(url, "api/faults/kill-rank"), null))
                Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            using var http = Http(Token);
            using (var none = await http.PostAsync(new Uri(url, "api/faults/kill-rank?experiment=nothing-here"), null))
                Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);

            var client = app.Services.GetRequiredService<IClusterClient>();
            await TinyExperiments.Submit(client, "victim-1", TinyExperiments.TokenizerSpec("victim", steps: 100_000, logEvery: 1));
            await TinyExperiments.WaitFor(client, "victim-1", s => s.Progress is { Step: > 0 } || s.IsFinished, TimeSpan.FromMinutes(2));
            using (var listed = JsonDocument.Parse(await http.GetStringAsync(new Uri(url, "api/faults/ranks"))))
            {
                var rank = Assert.Single(listed.RootElement.EnumerateArray());
                Assert.Equal("victim-1", rank.GetProperty("experiment").GetString());
                Assert.Equal(0, rank.GetProperty("rank").GetInt32());
            }

            using (var killed = await http.PostAsync(new Uri(url, "api/faults/kill-rank?experiment=victim-1&rank=0"), null))
                Assert.Equal(HttpStatusCode.OK, killed.StatusCode);
            var status = await TinyExperiments.WaitFor(client, "victim-1", s => s.IsFinished, TimeSpan.FromMinutes(1));
            Assert.Equal(ExperimentState.Failed, status.State);
            Assert.Contains("fault injected by POST /api/faults/kill-rank", status.Error);
        }
        finally { await app.StopAsync(); }
    }

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }
}
