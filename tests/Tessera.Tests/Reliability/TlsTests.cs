using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Tessera.Cli;
using Tessera.Grains;
using Tessera.Silo;
using Tessera.Silo.Security;

namespace Tessera.Tests.Reliability;

/// <summary>
/// With a certificate path the HTTP API is served over HTTPS only, with that certificate, and the gateway speaks TLS
/// with it: a client pinning the certificate gets in (with the token), a client without TLS does not.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class TlsTests
{
    [Fact]
    public async Task TheApiAndTheGatewayUseTheGivenCertificate()
    {
        string root = Path.Combine(Path.GetTempPath(), $"tessera-tls-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        string pfx = Path.Combine(root, "silo.pfx");
        File.WriteAllBytes(pfx, certificate.Export(X509ContentType.Pkcs12, "pfx-password"));
        string publicCertificate = Path.Combine(root, "silo.cer");
        File.WriteAllBytes(publicCertificate, certificate.Export(X509ContentType.Cert));
        int gateway = FreePort();

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

    static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
