using System.Net;
using System.Text.Json;

namespace Tessera.Tests.Dashboard;

/// <summary>The HTTP API's contract (status codes, snake_case JSON shapes, 404s, incremental metrics) against a real silo.</summary>
[Collection(DashboardCollection.Name)]
public sealed class ApiContractTests(DashboardSilo silo)
{
    [Fact]
    public async Task FinishedExperimentShowsInListDetailMetricsAndArtifacts()
    {
        string id = await silo.SubmitTokenizer("apitest", steps: 6, logEvery: 2);
        var detail = await silo.WaitUntilFinished(id);
        Assert.Equal("succeeded", detail.GetProperty("state").GetString());

        var list = await silo.GetJson("api/experiments");
        var item = list.GetProperty("experiments").EnumerateArray().Single(e => e.GetProperty("id").GetString() == id);
        Assert.Equal("apitest", item.GetProperty("name").GetString());
        Assert.Equal(1, item.GetProperty("completed_stages").GetInt32());
        Assert.Equal(1, item.GetProperty("total_stages").GetInt32());

        Assert.Equal(JsonValueKind.Null, detail.GetProperty("progress").ValueKind);
        Assert.True(detail.GetProperty("elapsed_seconds").GetDouble() > 0);
        var stage = Assert.Single(detail.GetProperty("stages").EnumerateArray());
        Assert.Equal("tokenizer", stage.GetProperty("name").GetString());
        Assert.Equal("succeeded", stage.GetProperty("state").GetString());
        Assert.True(stage.GetProperty("metrics").TryGetProperty("heldout_psnr_db", out _), "metric names keep their own spelling");

        var recon = detail.GetProperty("artifacts").EnumerateArray().Single(a => a.GetProperty("name").GetString() == "recon.png");
        Assert.Equal("image/png", recon.GetProperty("content_type").GetString());
        Assert.Equal(64, recon.GetProperty("sha256").GetString()!.Length);
        using var png = await silo.Http.GetAsync(recon.GetProperty("url").GetString()!.TrimStart('/'));
        Assert.Equal(HttpStatusCode.OK, png.StatusCode);
        Assert.Equal("image/png", png.Content.Headers.ContentType?.MediaType);
        byte[] bytes = await png.Content.ReadAsByteArrayAsync();
        Assert.Equal(recon.GetProperty("length").GetInt64(), bytes.Length);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);

        var checkpoint = detail.GetProperty("artifacts").EnumerateArray().Single(a => a.GetProperty("name").GetString()!.EndsWith(".ckpt"));
        Assert.Equal(JsonValueKind.Null, checkpoint.GetProperty("url").ValueKind);

        var summary = await silo.GetJson($"api/experiments/{id}/artifacts/summary.json");
        Assert.Equal("succeeded", summary.GetProperty("state").GetString());

        // Incremental metrics: indexes run 0..n-1, "next" continues where a poll stopped, nothing is read twice.
        var all = await silo.GetJson($"api/experiments/{id}/metrics?since=0");
        var points = all.GetProperty("points").EnumerateArray().ToList();
        Assert.Equal(3, points.Count);
        Assert.Equal([0, 1, 2], points.Select(p => p.GetProperty("index").GetInt32()));
        Assert.Equal([2, 4, 6], points.Select(p => p.GetProperty("step").GetInt32()));
        Assert.Equal(3, all.GetProperty("next").GetInt32());
        foreach (string field in new[] { "stage", "loss", "images_per_second", "metrics", "time" })
            Assert.True(points[0].TryGetProperty(field, out _), $"metrics point lacks '{field}'");

        var tail = await silo.GetJson($"api/experiments/{id}/metrics?since=1");
        Assert.Equal([1, 2], tail.GetProperty("points").EnumerateArray().Select(p => p.GetProperty("index").GetInt32()));
        var none = await silo.GetJson($"api/experiments/{id}/metrics?since=3");
        Assert.Empty(none.GetProperty("points").EnumerateArray());
        Assert.Equal(3, none.GetProperty("next").GetInt32());
    }

    [Theory]
    [InlineData("api/experiments/no-such-experiment", "no experiment with id 'no-such-experiment'")]
    [InlineData("api/experiments/no-such-experiment/metrics?since=0", "no experiment")]
    [InlineData("api/experiments/no-such-experiment/artifacts/recon.png", "no experiment")]
    [InlineData("api/no-such-endpoint", "no such API endpoint")]
    public async Task UnknownThingsAre404WithAJsonError(string path, string message)
    {
        using var response = await silo.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Contains(message, body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task ArtifactsOutsideTheExperimentOrNotServableAre404()
    {
        string id = await silo.SubmitTokenizer("pathtest", steps: 2, logEvery: 1);
        await silo.WaitUntilFinished(id);
        foreach (string name in new[] { "..%2F..%2Fetc%2Fpasswd.txt", "checkpoints/tokenizer.ckpt", "missing.png", "a//b.png", "a\\..\\b.png" })
        {
            using var response = await silo.Http.GetAsync($"api/experiments/{id}/artifacts/{name}");
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{name}: {(int)response.StatusCode}");
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.False(string.IsNullOrEmpty(body.GetProperty("error").GetString()));
        }
        using var negative = await silo.Http.GetAsync($"api/experiments/{id}/metrics?since=-1");
        Assert.Equal(HttpStatusCode.BadRequest, negative.StatusCode);
    }

    [Fact]
    public async Task ClusterListsThisSiloAndTheQueue()
    {
        var cluster = await silo.GetJson("api/cluster");
        var host = Assert.Single(cluster.GetProperty("silos").EnumerateArray());
        Assert.Equal("active", host.GetProperty("status").GetString());
        Assert.True(host.GetProperty("activations").GetInt32() > 0);
        Assert.Equal(JsonValueKind.Array, cluster.GetProperty("queue").ValueKind);
    }

    [Fact]
    public async Task DashboardAndOrleansDashboardAreServed()
    {
        string html = await silo.Http.GetStringAsync("");
        Assert.Contains("<title>Tessera dashboard</title>", html);
        using var script = await silo.Http.GetAsync("app.js");
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        using var orleans = await silo.Http.GetAsync("orleans/");
        Assert.Equal(HttpStatusCode.OK, orleans.StatusCode);
    }
}
