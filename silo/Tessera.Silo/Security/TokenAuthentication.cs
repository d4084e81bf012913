using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Tessera.Silo.Api;

namespace Tessera.Silo.Security;

/// <summary>
/// The HTTP side of the cluster token: every request to the API, dashboard and metrics must carry one of the tokens,
/// as <c>Authorization: Bearer &lt;token&gt;</c> (the CLI, scrapers), or once as <c>?access_token=</c> on a page a browser
/// opens, which then keeps it in an HttpOnly cookie for the dashboard's own requests. The data plane's listener is
/// left to its per-experiment secret.
/// </summary>
public static class TokenAuthentication
{
    const string Cookie = "tessera_token";
    const string Query = "access_token";

    public static void UseClusterTokens(this WebApplication app, ClusterTokens tokens, int collectivePort)
    {
        if (!tokens.Enabled) return;
        app.Use(async (context, next) =>
        {
            if (context.Connection.LocalPort == collectivePort)
            {
                await next(context);
                return;
            }
            string? header = context.Request.Headers.Authorization.ToString();
            string? bearer = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
            string? query = context.Request.Query[Query].FirstOrDefault();
            string? presented = bearer ?? context.Request.Cookies[Cookie] ?? query;
            if (tokens.Accepts(presented))
            {
                if (presented == query && bearer is null)
                    context.Response.Cookies.Append(Cookie, query!, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = context.Request.IsHttps });
                await next(context);
                return;
            }
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = "Bearer";
            string error = presented is null
                ? "this silo requires a cluster token: send 'Authorization: Bearer <token>' (tessera: --token or TESSERA_TOKEN)"
                : "the cluster token is not one this silo accepts";
            await context.Response.WriteAsJsonAsync(new ApiError(error), ApiJson.Options);
        });
    }
}
