using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.FileProviders;

namespace Tessera.Silo.Api;

/// <summary>Serves the web dashboard (plain HTML, CSS and JS embedded in this assembly) at the site root.</summary>
public static class DashboardFiles
{
    public static WebApplication MapTesseraDashboard(this WebApplication app)
    {
        var files = new EmbeddedFileProvider(typeof(DashboardFiles).Assembly, "Tessera.Silo.wwwroot");
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            // The files change with every build of the silo; a stale cached app.js against a newer API is worse than a re-fetch.
            OnPrepareResponse = context => context.Context.Response.Headers.CacheControl = "no-cache",
        });
        return app;
    }
}
