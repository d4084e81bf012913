using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Tessera.Cli;
using Tessera.Grains.Workers;
using Tessera.Stages;
using Tessera.Grains;
using Tessera.Silo;
using Tessera.Silo.Security;

namespace Tessera.Tests.Reliability;

/// <summary>
/// With a certificate path the HTTP API is served over HTTPS only, with that certificate, the data plane is TLS with it,
/// and the gateway speaks TLS with it: a client pinning the certificate gets in (with the token), a client without TLS does not.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class TlsTests
{
    [Fact]
    public async Task TheApiAndTheGatewayUseTheGivenCertificate()
    {
        string root = Path.Combine(Path.GetTempPath(), $"tessera-tls-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        using var certificate = TestCertificates.SelfSigned();
        string pfx = Path.Combine(root, "silo.pfx");
        File.WriteAllBytes(pfx, certificate.Export(X509ContentType.Pkcs12, "pfx-password"));
        string publicCertificate = Path.Combine(root, "silo.cer");
        File.WriteAllBytes(publicCertificate, certificate.Export(X509ContentType.Cert));
        int gateway = FreePorts.Next();

        const string token = "tls-test-token-0123456789";
        await using var app = TesseraWebHost.Build(new TesseraSiloOptions
        {
            ArtifactRoot = Path.Combine(root, "runs"), SiloPort = 0, GatewayPort = gateway, HttpPort = 0, TorchThreads = 1,
            Tokens = ClusterTokens.Parse(token), TlsCertificatePath = pfx, TlsCertificatePassword = "pfx-password",
        });
        try
        {
            await app.StartAsync();
            var url = new Uri(TesseraWebHost.DashboardUrl(app));
            Assert.Equal("https", url.Scheme);
            string? seen = null;
            using var https = new HttpClient(new HttpClientHandler
            {
                // Trust exactly the test's own certificate, and remember which one the server showed.
                ServerCertificateCustomValidationCallback = (_, cert, _, _) => (seen = cert?.Thumbprint) == certificate.Thumbprint,
            });
            https.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            using var response = await https.GetAsync(new Uri(url, "api/experiments"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(certificate.Thumbprint, seen);
            using var plain = new HttpClient();
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => plain.GetAsync(new UriBuilder(url) { Scheme = "http" }.Uri));

            // The data plane (gRPC collective) is served over TLS with the same certificate, and says so in its endpoint.
            var dataPlane = app.Services.GetRequiredService<DataPlane>();
            Assert.Equal("https", dataPlane.Endpoint!.Scheme);
            Assert.Equal(certificate.Thumbprint, dataPlane.Hub.TlsCertificate!.Thumbprint);
            Assert.Equal(certificate.Thumbprint, await PresentedCertificate(dataPlane.Endpoint));

            await using (var client = await ClusterConnection.TryConnectAsync(gateway, token, CancellationToken.None, publicCertificate))
                Assert.Empty(await client!.Client.GetGrain<ISchedulerGrain>(0).List());
            // A client without TLS never completes the gateway handshake; it retries until it is given up on.
            using var giveUp = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ClusterConnection.TryConnectAsync(gateway, token, giveUp.Token));
        }
        finally
        {
            await app.StopAsync();
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>The thumbprint of the certificate a TLS handshake with <paramref name="endpoint"/> shows (ALPN h2, as gRPC asks).</summary>
    static async Task<string?> PresentedCertificate(Uri endpoint)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(endpoint.Host, endpoint.Port);
        await using var tls = new System.Net.Security.SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
        {
            TargetHost = endpoint.Host, ApplicationProtocols = [System.Net.Security.SslApplicationProtocol.Http2],
        });
        return tls.RemoteCertificate?.GetCertHashString();
    }

}
