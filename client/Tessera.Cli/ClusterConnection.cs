using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Serilog;
using Spectre.Console;
using StackExchange.Redis;
using Tessera.Cli.Commands;
using Tessera.Silo;
using Tessera.Silo.Security;

namespace Tessera.Cli;

/// <summary>
/// Starts an Orleans client against running silos, or says clearly that none is there. With a Redis connection
/// string the client reads the cluster's live gateways from Redis membership, so it keeps working when any one silo
/// goes; otherwise it uses the gateways named by `--gateway` (default localhost:30000).
/// </summary>
public sealed class ClusterConnection : IAsyncDisposable
{
    readonly IHost _host;

    ClusterConnection(IHost host, string where) => (_host, Where) = (host, where);

    public IClusterClient Client => _host.Services.GetRequiredService<IClusterClient>();

    /// <summary>The cluster this client talks to, for messages: its gateways, or its id and Redis endpoint (no secrets).</summary>
    public string Where { get; }

    /// <param name="messages">Where to say that no silo answered: the terminal, or standard error under `--json`.</param>
    public static async Task<ClusterConnection?> TryConnectAsync(GatewaySettings settings, CancellationToken cancellationToken,
        IAnsiConsole? messages = null)
    {
        messages ??= AnsiConsole.Console;
        string? redis = settings.Redis ?? (settings.Gateway is null ? Environment.GetEnvironmentVariable("TESSERA_REDIS") : null);
        string clusterId = settings.ClusterId ?? Environment.GetEnvironmentVariable("TESSERA_CLUSTER_ID") ?? TesseraSiloOptions.DefaultClusterId;
        IPEndPoint[] gateways;
        try { gateways = redis is null ? ParseGateways(settings.Gateway ?? "30000") : []; }
        catch (FormatException e)
        {
            messages.MarkupLineInterpolated($"[red]error:[/] --gateway {settings.Gateway}: {e.Message}");
            return null;
        }

        // No default sources: a client reads nothing from appsettings, and their file watches (one inotify instance per
        // process) ran out at 128 when a load test started 200 CLI processes at once.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSerilog();
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(cluster => { cluster.ClusterId = clusterId; cluster.ServiceId = TesseraSiloOptions.ServiceId; });
            if (redis is not null)
                client.UseRedisClustering(clustering => clustering.ConfigurationOptions = ConfigurationOptions.Parse(redis));
            else
                client.UseStaticClustering(gateways);
            OrleansTls.UseClusterTls(ClusterTokenFilter.AddClusterToken(client, settings.ClusterToken), settings.TlsCertificate);
        });
        var host = builder.Build();
        string where = redis is null ? string.Join(", ", gateways.Select(g => g.ToString())) : $"cluster '{clusterId}' via {Secrets.DescribeRedis(redis)}";
        try
        {
            await host.StartAsync(cancellationToken);
            return new ClusterConnection(host, where);
        }
        catch (Exception e)
        {
            host.Dispose();
            if (e is OperationCanceledException) throw;
            string message = redis is null ? e.Message : Secrets.Redact(e.Message, new TesseraSiloOptions { RedisConnection = redis });
            messages.MarkupLineInterpolated(
                $"[red]no Tessera silo reachable[/] at {where} ({e.GetType().Name}: {message}). Start one with `tessera silo`.");
            return null;
        }
    }

    /// <summary>A silo on this machine's gateway <paramref name="gatewayPort"/>, with a token and a pinned TLS certificate if given.</summary>
    public static Task<ClusterConnection?> TryConnectAsync(int gatewayPort, string? token, CancellationToken cancellationToken,
        string? tlsCertificate = null) =>
        TryConnectAsync(new GatewaySettings { Gateway = $"{gatewayPort}", Token = token, TlsCertificate = tlsCertificate }, cancellationToken);

    /// <summary>"30000", "10.0.0.5:30000" or a comma-separated list of either; a bare port means localhost.</summary>
    public static IPEndPoint[] ParseGateways(string text)
    {
        var endpoints = new List<IPEndPoint>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (int.TryParse(part, out int port) && port is > 0 and < 65536)
                endpoints.Add(new IPEndPoint(IPAddress.Loopback, port));
            else if (IPEndPoint.TryParse(part, out var endpoint) && endpoint.Port > 0)
                endpoints.Add(endpoint);
            else if (part.LastIndexOf(':') is int colon and > 0 && int.TryParse(part[(colon + 1)..], out port) && port is > 0 and < 65536)
                endpoints.Add(new IPEndPoint(Resolve(part[..colon]), port));
            else
                throw new FormatException($"'{part}' is not a port or HOST:PORT");
        }
        return endpoints.Count > 0 ? [.. endpoints] : throw new FormatException("names no gateway");
    }

    static IPAddress Resolve(string host)
    {
        try
        {
            var addresses = Dns.GetHostAddresses(host);
            return addresses.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                ?? addresses.FirstOrDefault() ?? throw new FormatException($"host '{host}' has no address");
        }
        catch (System.Net.Sockets.SocketException e) { throw new FormatException($"host '{host}' does not resolve ({e.Message})"); }
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
