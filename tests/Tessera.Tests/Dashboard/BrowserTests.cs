using Microsoft.Playwright;
using Tessera.Grains;
using Xunit.Abstractions;

namespace Tessera.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright, against an embedded silo
/// with a running experiment. Chromium must be installed (infra/scripts/test.sh installs it); without it the
/// test fails rather than skips, so a CI machine without a browser cannot pass silently.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class BrowserTests(DashboardSilo silo, ITestOutputHelper output)
{
    const string Chromium = "/usr/bin/chromium";

    // The flags this machine's closed network needs (see infra/scripts/test.sh); Playwright adds a fresh profile dir.
    static readonly string[] ChromiumFlags =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    [Fact]
    public async Task LossCurveOfARunningExperimentGainsPoints()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: install Debian's chromium (`apt-get install chromium`, as infra/scripts/test.sh does)");
        string id = await silo.SubmitTokenizer("browser", steps: 5000, logEvery: 2);
        try
        {
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Chromium, Headless = true, Args = ChromiumFlags, Timeout = 30_000,
            });
            var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1440, Height = 1000 } });
            var errors = new List<string>();
            page.PageError += (_, message) => errors.Add(message);

            await page.GotoAsync($"{silo.BaseUrl}#/experiments/{id}");
            var wait = new PageWaitForFunctionOptions { Timeout = 40_000, PollingInterval = 250 };
            const string pointsOnChart = "() => +(document.querySelector('#loss-chart')?.dataset.points ?? 0)";
            await page.WaitForFunctionAsync($"() => ({pointsOnChart})() >= 1", null, wait);
            int first = await page.EvaluateAsync<int>($"({pointsOnChart})()");
            await page.WaitForFunctionAsync($"n => ({pointsOnChart})() > n", first, wait);
            int later = await page.EvaluateAsync<int>($"({pointsOnChart})()");
            output.WriteLine($"loss curve points: {first} -> {later}");

            // The curve is really drawn (a path with one segment per point), and the live cards show numbers.
            string? path = await page.Locator("#loss-chart path").First.GetAttributeAsync("d");
            Assert.True(path?.Count(c => c == 'L') >= later - 1, $"loss path has too few segments: {path}");
            Assert.Contains("running", await page.Locator(".title .badge").InnerTextAsync(), StringComparison.OrdinalIgnoreCase);
            Assert.Contains("browser", await page.Locator("#experiments").InnerTextAsync());
            Assert.Contains("active", await page.Locator("#cluster").InnerTextAsync());
            // The log tail shows the experiment's progress events (polled from /logs), tagged with their stage.
            await page.WaitForFunctionAsync("() => (document.querySelector('#log-tail')?.textContent ?? '').includes('[tokenizer] Step')", null, wait);

            // An alignment stage's before/after section renders as its table (the page's own script, on a section
            // shaped like the <stage>.align.json an alignment stage writes).
            string table = await page.EvaluateAsync<string>("""
                () => {
                  const m = (acc, fd) => ({ guided_cfg: 3, forward_passes_per_image: 49, guided_class_accuracy: acc, guided_fd: fd,
                    guided_inception_score: 9.1, guided_mean_reward: 0.9, guided_samples_per_second: 400, unguided_class_accuracy: acc - 0.2,
                    unguided_fd: fd + 20, unguided_inception_score: 8, unguided_mean_reward: 0.7, unguided_samples_per_second: 700 });
                  return alignmentTable({ Stage: "cca", Kind: "cca", From: "generator", SamplesPerClass: 50,
                    Before: m(0.91, 37.97), After: m(0.96, 35.53), Objective: { steps: 140, kl_to_start: 1.77 } });
                }
                """);
            foreach (string expected in new[] { "cca from generator", "140 steps", "1.77 nats", "91.0%", "37.97", "96.0%", "35.53", "76.0%", "55.53", "guidance-free", ">98<" })
                Assert.Contains(expected, table);

            string shot = Path.Combine(AppContext.BaseDirectory, "artifacts", "dashboard-running.png");
            Directory.CreateDirectory(Path.GetDirectoryName(shot)!);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
            output.WriteLine($"screenshot: {shot}");
            Assert.Empty(errors);
        }
        finally
        {
            await silo.Client.GetGrain<IExperimentGrain>(id).Stop(StopRequest.Cancel);
        }
    }
}
