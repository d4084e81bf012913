namespace Tessera.Silo.Security;

/// <summary>
/// The gateway side of the cluster token: a call to a Tessera grain must carry one of the tokens in its RequestContext
/// (clients set it with <see cref="AddClusterToken"/>), or it is refused with <see cref="UnauthorizedAccessException"/>.
/// The silo stamps its own outgoing calls (grains, workers, the HTTP API) with its token, so inside the cluster nothing
/// changes. Orleans' own grains (membership, management, dashboard) are left alone.
/// </summary>
public sealed class ClusterTokenFilter(ClusterTokens tokens) : IIncomingGrainCallFilter, IOutgoingGrainCallFilter
{
    public Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.InterfaceMethod?.DeclaringType?.Namespace?.StartsWith("Tessera", StringComparison.Ordinal) == true
            && !tokens.Accepts(RequestContext.Get(ClusterTokens.RequestContextKey) as string))
            throw new UnauthorizedAccessException(
                $"{context.InterfaceMethod.DeclaringType.Name}.{context.InterfaceMethod.Name} refused: the call carries no cluster token this " +
                "silo accepts (tessera: --token or TESSERA_TOKEN)");
        return context.Invoke();
    }

    public Task Invoke(IOutgoingGrainCallContext context)
    {
        RequestContext.Set(ClusterTokens.RequestContextKey, tokens.Primary!);
        return context.Invoke();
    }

    /// <summary>Silo side: require and present the token, when one is configured.</summary>
    public static ISiloBuilder Require(ISiloBuilder silo, ClusterTokens tokens)
    {
        if (!tokens.Enabled) return silo;
        var filter = new ClusterTokenFilter(tokens);
        silo.AddIncomingGrainCallFilter(filter);
        silo.AddOutgoingGrainCallFilter(filter);
        return silo;
    }

    /// <summary>Client side: present <paramref name="token"/> on every call (nothing when it is null).</summary>
    public static IClientBuilder AddClusterToken(IClientBuilder client, string? token)
    {
        if (token is null) return client;
        client.AddOutgoingGrainCallFilter(context =>
        {
            RequestContext.Set(ClusterTokens.RequestContextKey, token);
            return context.Invoke();
        });
        return client;
    }
}
