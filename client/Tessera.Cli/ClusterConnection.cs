using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;
using Spectre.Console;
using Tessera.Silo;
using Tessera.Silo.Security;

namespace Tessera.Cli;

/// <summary>Starts an Orleans client against a localhost silo, or says clearly that none is there.</summary>
public sealed class ClusterConnection : IAsyncDisposable
{
    readonly IHost _host;

    ClusterConnection(IHost host) => _host = host;

    public IClusterClient Client => _host.Services.GetRequiredService<IClusterClient>();

    /// <param name="token">The cluster token to present on every call (null: none, for a silo without authentication).</param>
    /// <param name="tlsCertificate">The silo's certificate (PEM or DER) to trust over TLS (null: no TLS).</param>
    public static async Task<ClusterConnection?> TryConnectAsync(int gatewayPort, string? token, CancellationToken cancellationToken,
        string? tlsCertificate = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSerilog();
        builder.UseOrleansClient(client => OrleansTls.UseClusterTls(ClusterTokenFilter.AddClusterToken(client.UseLocalhostClustering(
            gatewayPort, TesseraSiloOptions.ServiceId, TesseraSiloOptions.ClusterId), token), tlsCertificate));
        var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken);
            return new ClusterConnection(host);
        }
        catch (Exception e)
        {
            host.Dispose();
            if (e is OperationCanceledException) throw;
            AnsiConsole.MarkupLineInterpolated(
                $"[red]no Tessera silo reachable[/] on localhost:{gatewayPort} ({e.GetType().Name}: {e.Message}). Start one with `tessera silo`.");
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
