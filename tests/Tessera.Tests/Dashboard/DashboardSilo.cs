using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Serilog.Core;
using Serilog.Events;
using Tessera.Grains;
using Tessera.Silo;

namespace Tessera.Tests.Dashboard;

/// <summary>
/// One in-process silo web host (Orleans + Kestrel on a free loopback port) shared by the dashboard tests, so
/// the silo starts once. Tests talk to it over real HTTP, as the dashboard does.
/// </summary>
public sealed class DashboardSilo : IAsyncLifetime
{
    readonly string _root = Path.Combine(Path.GetTempPath(), $"tessera-dash-{Guid.NewGuid():N}");
    WebApplication? _app;

    public HttpClient Http { get; private set; } = null!;
    public string BaseUrl { get; private set; } = "";
    public IClusterClient Client => _app!.Services.GetRequiredService<IClusterClient>();
    public string RunsDirectory => Path.Combine(_root, "runs");
    public int HttpPort => new Uri(BaseUrl).Port;

    /// <summary>The Orleans gateway, for `tessera` commands run against this silo as separate processes.</summary>
    public int GatewayPort => _app!.Services.GetRequiredService<ILocalSiloDetails>().GatewayAddress!.Endpoint.Port;

    /// <summary>Every log event of the silo, as its Serilog pipeline saw it.</summary>
    public RecordingSink Events { get; } = new();

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        _app = TesseraWebHost.Build(new TesseraSiloOptions
        {
            ArtifactRoot = RunsDirectory, SiloPort = 0, GatewayPort = 0, HttpPort = 0, TorchThreads = 1,
        }, web => web.Services.AddSingleton<ILogEventSink>(Events));
        await _app.StartAsync();
        BaseUrl = TesseraWebHost.DashboardUrl(_app);
        Http = new HttpClient { BaseAddress = new Uri(BaseUrl), Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    /// <summary>Submits a tokenizer experiment on the bundled digits, small enough for a test, and returns its id.</summary>
    public async Task<string> SubmitTokenizer(string name, int steps, int logEvery)
    {
        string yaml = $"""
            experiment: {name}
            seed: 5
            device: cpu
            dataset:
              name: mnist
            stages:
              - kind: tokenizer
                steps: {steps}
                batch_size: 8
                log_every: {logEvery}
                warmup_steps: 1
                hidden_channels: 8
                latent_channels: 8
            """;
        string id = $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)];
        await Client.GetGrain<IExperimentGrain>(id).Submit(new ExperimentSubmission(yaml, $"{name}.yaml", DateTimeOffset.UtcNow));
        return id;
    }

    public async Task<JsonElement> GetJson(string path)
    {
        using var response = await Http.GetAsync(path);
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static bool IsFinished(JsonElement detail) => detail.GetProperty("state").GetString() is "succeeded" or "failed" or "cancelled";

    /// <summary>Waits (40 s at most) until the experiment has finished, and returns its detail.</summary>
    public Task<JsonElement> WaitUntilFinished(string id) => WaitFor(id, IsFinished, TimeSpan.FromSeconds(40));

    /// <summary>Polls the API until the experiment's state satisfies <paramref name="done"/> (or fails the test).</summary>
    public async Task<JsonElement> WaitFor(string id, Func<JsonElement, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var detail = await GetJson($"api/experiments/{id}");
            if (done(detail)) return detail;
            Assert.True(DateTime.UtcNow < deadline, $"experiment {id} did not get there in {timeout.TotalSeconds:F0}s: {detail}");
            await Task.Delay(200);
        }
    }
}

/// <summary>A Serilog sink that keeps every event, for tests that check what was logged and with which properties.</summary>
public sealed class RecordingSink : ILogEventSink
{
    public ConcurrentQueue<LogEvent> Events { get; } = new();

    public void Emit(LogEvent logEvent) => Events.Enqueue(logEvent);
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DashboardCollection : ICollectionFixture<DashboardSilo>
{
    // Trainers touch libtorch, whose state is process-wide: these tests run alone, like the torch collection.
    public const string Name = "dashboard";
}
