using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using Orleans.Dashboard;
using Tessera.Collective;
using Tessera.Grains.Workers;
using Tessera.Infra.Telemetry;
using Tessera.Silo.Api;
using Tessera.Silo.Logging;
using Tessera.Silo.Security;

namespace Tessera.Silo;

/// <summary>
/// The one place a Tessera silo process is assembled: Orleans and Kestrel in one ASP.NET Core host, with the
/// HTTP API, the web dashboard, the Orleans Dashboard and the Prometheus scrape endpoint mapped on it, the data
/// plane's gRPC collective on a listener of its own, and Serilog as its logger (<see cref="SiloLogging"/>), so
/// every program that hosts a silo serves the same endpoints.
/// </summary>
public static class TesseraWebHost
{
    /// <summary>
    /// Builds (does not start) a silo host. <paramref name="configure"/> adds the caller's own services, e.g. a
    /// Serilog <c>ILogEventSink</c> that then receives every event of this host.
    /// </summary>
    public static WebApplication Build(TesseraSiloOptions options, Action<WebApplicationBuilder>? configure = null)
    {
        // Content root at the program's own folder: a silo is configured by TesseraSiloOptions, not by whatever
        // appsettings.json happens to sit in the directory `tessera` was started from.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        int port = ResolveHttpPort(options);
        int collectivePort = options.CollectivePort == 0 ? FreePorts.Next() : options.CollectivePort;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Parse(options.HttpAddress), port, listen =>
            {
                if (options.TlsCertificatePath is { } certificate) listen.UseHttps(certificate, options.TlsCertificatePassword);
            });
            // The data plane gets its own HTTP/2-only listener: gRPC without TLS needs prior-knowledge HTTP/2,
            // which a listener shared with browsers (HTTP/1.1) cannot offer. With a certificate it is TLS too (ALPN h2).
            kestrel.Listen(IPAddress.Parse(options.CollectiveAddress), collectivePort, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                if (options.TlsCertificatePath is { } certificate) listen.UseHttps(certificate, options.TlsCertificatePassword);
            });
            kestrel.TuneForCollective();
        });
        builder.Services.AddTesseraCollective();
        builder.UseOrleans(silo =>
        {
            silo.UseTessera(options);
            ClusterTokenFilter.Require(silo, options.Tokens);
            OrleansTls.UseClusterTls(silo, options.TlsCertificatePath, options.TlsCertificatePassword);
            if (options.OrleansDashboard) silo.AddDashboard();
        });
        builder.Services.AddTesseraLogging(options);
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(TesseraMetrics.MeterName)
            .AddPrometheusExporter());
        configure?.Invoke(builder);

        var app = builder.Build();
        var dataPlane = app.Services.GetRequiredService<DataPlane>();
        dataPlane.Endpoint = new Uri($"{(options.TlsCertificatePath is null ? "http" : "https")}://{options.CollectiveAddress}:{collectivePort}");
        if (options.TlsCertificatePath is { } pfx)
            dataPlane.Hub.TlsCertificate = X509CertificateLoader.LoadPkcs12FromFile(pfx, options.TlsCertificatePassword);
        app.UseClusterTokens(options.Tokens, collectivePort);
        MapEndpoints(app, options);
        return app;
    }

    static void MapEndpoints(WebApplication app, TesseraSiloOptions options)
    {
        app.MapTesseraApi();
        if (options.EnableFaultInjection) app.MapFaultInjection();
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapTesseraDashboard();
        if (options.OrleansDashboard) app.MapOrleansDashboard(routePrefix: "/orleans");
        app.MapTesseraCollective();
    }

    /// <summary>The dashboard's address once the host has started, e.g. <c>http://127.0.0.1:5080/</c>.</summary>
    public static string DashboardUrl(IHost host)
    {
        var addresses = host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        int dataPlanePort = host.Services.GetRequiredService<DataPlane>().Endpoint?.Port ?? -1;
        string address = addresses?.FirstOrDefault(a => new Uri(a.Replace("*", "localhost", StringComparison.Ordinal)).Port != dataPlanePort)
            ?? throw new InvalidOperationException("the web host has not started");
        return address.TrimEnd('/') + "/";
    }

    /// <summary>
    /// Stops the host, then waits (up to <paramref name="patience"/>) for trainer workers to end before the process may
    /// exit. Deactivation tells every worker to stop, but one busy outside its step loop (an evaluation, a tokenize pass)
    /// can still be inside libtorch when the host is down, and a process that exits under it crashes in libtorch's
    /// static destructors (seen as segfaults in oneDNN's primitive cache when all silos of a cluster stopped at once).
    /// Returns how many workers were still running when the wait gave up.
    /// </summary>
    public static async Task<int> StopAsync(IHost host, TimeSpan patience)
    {
        await host.StopAsync(CancellationToken.None);
        var workers = host.Services.GetRequiredService<RunningWorkers>();
        using var patienceOver = new CancellationTokenSource(patience);
        foreach (var worker in workers.Running())
            await worker.WaitAsync(patienceOver.Token);
        return workers.Running().Count;
    }

    static int ResolveHttpPort(TesseraSiloOptions options)
    {
        if (options.HttpPort == 0 || !options.HttpPortFallback) return options.HttpPort;
        return IsFree(IPAddress.Parse(options.HttpAddress), options.HttpPort) ? options.HttpPort : 0;
    }

    static bool IsFree(IPAddress address, int port)
    {
        try
        {
            using var listener = new TcpListener(address, port);
            listener.Start();
            return true;
        }
        catch (SocketException) { return false; }
    }
}
