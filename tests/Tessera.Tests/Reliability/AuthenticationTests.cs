using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
using Tessera.Cli;
using Tessera.Grains;
using Tessera.Silo;
using Tessera.Silo.Security;
using Tessera.Tests.Dashboard;

namespace Tessera.Tests.Reliability;

/// <summary>
/// A silo configured with cluster tokens (two, as during a rotation) refuses the HTTP API and the gateway to anyone
/// without one, serves whoever presents either, keeps working inside (its own grain calls, the API's calls), and never
/// writes a token into a log line, an error message or a file.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class AuthenticationTests : IAsyncLifetime
{
    const string Current = "current-token-0123456789abcdef", Next = "next-token-fedcba9876543210";
    readonly string _root = Path.Combine(Path.GetTempPath(), $"tessera-auth-{Guid.NewGuid():N}");
    readonly RecordingSink _logs = new();
    readonly List<string> _messages = []; // every error text a client saw
    WebApplication _app = null!;
    int _gateway;
    Uri _http = null!;

    public async Task InitializeAsync()
    {
        _gateway = FreePorts.Next();
        _app = TesseraWebHost.Build(new TesseraSiloOptions
        {
            ArtifactRoot = _root, SiloPort = 0, GatewayPort = _gateway, HttpPort = 0, TorchThreads = 1,
            Tokens = ClusterTokens.Parse($"{Current},{Next}"),
        }, web => web.Services.AddSingleton<ILogEventSink>(_logs));
        await _app.StartAsync();
        _http = new Uri(TesseraWebHost.DashboardUrl(_app));
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }


    async Task<(HttpStatusCode Status, string Body)> Get(string path, string? token, HttpClient? client = null)
    {
        using var own = client is null ? new HttpClient() : null;
        var http = client ?? own!;
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_http, path));
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) _messages.Add(body);
        return (response.StatusCode, body);
    }

    [Fact]
    public async Task TheHttpApiWantsEitherTokenAndSaysHowToSendOne()
    {
        var missing = await Get("api/experiments", token: null);
        Assert.Equal(HttpStatusCode.Unauthorized, missing.Status);
        Assert.Contains("Authorization: Bearer <token>", missing.Body);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Get("metrics", token: null)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Get("", token: null)).Status);
        var wrong = await Get("api/experiments", "not-the-token-0123456789");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.Status);
        Assert.Contains("not one this silo accepts", wrong.Body);

        // Both tokens of a rotation work; the API's own grain calls inside the silo carry the silo's token.
        Assert.Equal(HttpStatusCode.OK, (await Get("api/experiments", Current)).Status);
        Assert.Equal(HttpStatusCode.OK, (await Get("api/cluster", Next)).Status);

        // A browser opens the dashboard once with ?access_token=, then its own requests carry the cookie.
        using var browser = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() });
        Assert.Equal(HttpStatusCode.OK, (await Get($"?access_token={Next}", null, browser)).Status);
        Assert.Equal(HttpStatusCode.OK, (await Get("api/experiments", null, browser)).Status);

        // The CLI's API client sends the token it is given.
        using var api = SiloApi.At(_http, Current);
        Assert.Equal(System.Text.Json.JsonValueKind.Object, (await api.GetAsync<System.Text.Json.JsonElement>("api/experiments", CancellationToken.None)).ValueKind);
        using var anonymous = SiloApi.At(_http);
        var refused = await Assert.ThrowsAsync<SiloApiException>(() => anonymous.GetAsync<System.Text.Json.JsonElement>("api/experiments", CancellationToken.None));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
        AssertNoTokenAnywhere();
    }

    [Fact]
    public async Task TheGatewayRefusesAClientWithoutTheTokenAndServesOneWithIt()
    {
        await using (var anonymous = await ClusterConnection.TryConnectAsync(_gateway, token: null, CancellationToken.None))
        {
            Assert.NotNull(anonymous);
            var refused = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => anonymous!.Client.GetGrain<ISchedulerGrain>(0).List());
            Assert.Contains("no cluster token this silo accepts", refused.Message);
            _messages.Add(refused.ToString());
        }
        await using (var wrong = await ClusterConnection.TryConnectAsync(_gateway, "not-the-token-0123456789", CancellationToken.None))
        {
            var refused = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => wrong!.Client.GetGrain<IExperimentGrain>("x").GetStatus());
            _messages.Add(refused.ToString());
        }
        await using var client = await ClusterConnection.TryConnectAsync(_gateway, Next, CancellationToken.None);
        Assert.Empty(await client!.Client.GetGrain<ISchedulerGrain>(0).List());
        var unknown = await Assert.ThrowsAsync<KeyNotFoundException>(() => client.Client.GetGrain<IExperimentGrain>("nobody").GetStatus());
        _messages.Add(unknown.ToString());
        AssertNoTokenAnywhere();
    }

    [Fact]
    public void TokensAreCheckedAndNeverPrinted()
    {
        Assert.False(ClusterTokens.Parse("").Enabled);
        Assert.Throws<ArgumentException>(() => ClusterTokens.Parse("a-b-c-d-e-f-g-h-1,a-b-c-d-e-f-g-h-2,a-b-c-d-e-f-g-h-3"));
        var tooShort = Assert.Throws<ArgumentException>(() => ClusterTokens.Parse("short"));
        Assert.DoesNotContain("short", tooShort.Message.Replace("shorter", ""));
        var tokens = ClusterTokens.Parse($" {Current} , {Next} ");
        Assert.True(tokens.Accepts(Current) && tokens.Accepts(Next));
        Assert.False(tokens.Accepts(Current + "x") || tokens.Accepts(null) || tokens.Accepts(""));
        Assert.Equal("2 cluster token(s)", tokens.ToString());
    }

    /// <summary>Neither token in any log event (message, properties, exception), client-side error, or file the silo wrote.</summary>
    void AssertNoTokenAnywhere()
    {
        var texts = _logs.Events.Select(e => e.RenderMessage() + " " + string.Join(" ", e.Properties.Values) + " " + e.Exception)
            .Concat(_messages)
            .Concat(Directory.Exists(_root) ? Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories).Select(File.ReadAllText) : [])
            .ToList();
        Assert.NotEmpty(texts);
        foreach (string token in new[] { Current, Next })
            Assert.DoesNotContain(texts, t => t.Contains(token, StringComparison.Ordinal));
    }
}
