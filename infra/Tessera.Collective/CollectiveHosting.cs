using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Tessera.Collective;

/// <summary>How a host (a silo, the bench, a test) serves the data plane.</summary>
public static class CollectiveHosting
{
    /// <summary>
    /// Registers gRPC, the <see cref="CollectiveHub"/> singleton, the service's message limits and Kestrel's large
    /// memory blocks (<see cref="KestrelBlockPool"/>; it replaces the host's default pool, so call it on the host that serves the collective).
    /// </summary>
    public static IServiceCollection AddTesseraCollective(this IServiceCollection services)
    {
        services.AddGrpc().AddServiceOptions<CollectiveService>(o =>
        {
            // Frames are chunk-sized; the default 4 MB cap would reject large chunk settings.
            o.MaxReceiveMessageSize = null;
            o.MaxSendMessageSize = null;
            o.EnableDetailedErrors = true;
        });
        services.AddSingleton<CollectiveHub>();
        // Not TryAdd: Kestrel registers its 4 KB pool first, and the last registration is the one resolved.
        services.AddSingleton<IMemoryPoolFactory<byte>, KestrelBlockPoolFactory>();
        return services;
    }

    /// <summary>Same as <c>MapGrpcService&lt;CollectiveService&gt;()</c>.</summary>
    public static IEndpointConventionBuilder MapTesseraCollective(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGrpcService<CollectiveService>();

    /// <summary>
    /// Kestrel limits for the data plane. Frames now travel as responses (see collective.proto), so the bulk data
    /// is governed by the client's receive window (<see cref="CollectiveOptions.Http2WindowBytes"/>); these
    /// receive-side settings keep the server from stalling a peer that sends it large requests.
    /// </summary>
    public static void TuneForCollective(this KestrelServerOptions kestrel, int windowBytes = 16 * 1024 * 1024)
    {
        kestrel.Limits.Http2.InitialConnectionWindowSize = Math.Max(windowBytes * 2, 1024 * 1024);
        kestrel.Limits.Http2.InitialStreamWindowSize = Math.Max(windowBytes, 768 * 1024);
        kestrel.Limits.Http2.MaxFrameSize = 1024 * 1024 - 1;
        kestrel.Limits.MaxRequestBodySize = null;
    }
}
