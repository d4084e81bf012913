using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Tessera.Silo;

/// <summary>
/// Ports that are free now, for a listener that binds them a moment later (a silo given port 0, tests). Chosen below the
/// kernel's ephemeral range: the port 0 trick hands out a port from that range, where every outgoing connection (Redis,
/// gRPC, HTTP) also takes its local port, and one of them could take it before the listener binds ("address already in
/// use", seen in the test suite). Below the range only another listener can take it.
/// </summary>
public static class FreePorts
{
    public static int Next()
    {
        int low = EphemeralLow(), floor = 10_000;
        for (int attempt = 0; attempt < 64 && low - floor > 1000; attempt++)
        {
            int port = Random.Shared.Next(floor, low);
            try
            {
                using var probe = new TcpListener(IPAddress.Any, port); // Any: also clashes with a listener on another address
                probe.Start();
                return port;
            }
            catch (SocketException) { }
        }
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The first port of Linux's ip_local_port_range (default 32768); the IANA range's elsewhere.</summary>
    static int EphemeralLow()
    {
        try
        {
            var parts = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(parts[0], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 49152;
        }
    }
}
