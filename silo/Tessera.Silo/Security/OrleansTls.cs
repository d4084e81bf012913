using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Orleans.Connections.Security;

namespace Tessera.Silo.Security;

/// <summary>
/// TLS on the Orleans connections (silo to silo, client to gateway) with one certificate for the whole cluster: silos
/// present it, and trust a peer that presents it or a certificate their machine trusts. Clients present none (the
/// cluster token authenticates them) and pin the silo's certificate.
/// </summary>
public static class OrleansTls
{
    public static ISiloBuilder UseClusterTls(ISiloBuilder silo, string? pfxPath, string? password)
    {
        if (pfxPath is null) return silo;
        var certificate = X509CertificateLoader.LoadPkcs12FromFile(pfxPath, password);
        return silo.UseTls(certificate, tls =>
        {
            tls.RemoteCertificateMode = RemoteCertificateMode.AllowCertificate;
            tls.RemoteCertificateValidation = (remote, _, errors) =>
                remote is null || errors == SslPolicyErrors.None || remote.Thumbprint == certificate.Thumbprint;
            tls.OnAuthenticateAsClient = (_, ssl) => ssl.TargetHost = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        });
    }

    /// <summary>Client side: TLS to the gateway, trusting exactly the certificate in <paramref name="certificatePath"/> (PEM or DER).</summary>
    public static IClientBuilder UseClusterTls(IClientBuilder client, string? certificatePath)
    {
        if (certificatePath is null) return client;
        var pinned = X509CertificateLoader.LoadCertificateFromFile(certificatePath);
        return client.UseTls(tls =>
        {
            tls.RemoteCertificateValidation = (remote, _, _) => remote?.Thumbprint == pinned.Thumbprint;
            tls.OnAuthenticateAsClient = (_, ssl) => ssl.TargetHost = pinned.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        });
    }
}
