using System.Text.RegularExpressions;
using StackExchange.Redis;

namespace Tessera.Silo;

/// <summary>
/// Connection strings carry passwords and account keys, so no message shows one: a silo describes its servers by
/// endpoint only, and any text that may quote a connection string (an exception from a client library) goes
/// through <see cref="Redact"/> first.
/// </summary>
public static partial class Secrets
{
    public const string Mask = "***";

    /// <summary>The text with the configured connection strings and every secret-looking setting masked.</summary>
    public static string Redact(string text, TesseraSiloOptions options)
    {
        foreach (var secret in new[] { options.RedisConnection, options.BlobConnection })
        {
            if (!string.IsNullOrEmpty(secret)) text = text.Replace(secret, Mask, StringComparison.Ordinal);
        }
        return SecretSetting().Replace(text, m => $"{m.Groups[1].Value}={Mask}");
    }

    /// <summary>A Redis connection string as its endpoints only, e.g. <c>redis 127.0.0.1:6379</c>.</summary>
    public static string DescribeRedis(string connection)
    {
        try
        {
            var endpoints = ConfigurationOptions.Parse(connection).EndPoints.Select(e => e.ToString());
            return $"redis {string.Join(",", endpoints)}";
        }
        catch (Exception e) when (e is ArgumentException or RedisConnectionException)
        {
            return "redis (unparsable connection string)";
        }
    }

    // password=..., AccountKey=..., SharedAccessSignature=..., sig=... up to the next separator.
    [GeneratedRegex(@"\b(password|accountkey|sharedaccesssignature|sig)=[^;,&\s]*", RegexOptions.IgnoreCase)]
    private static partial Regex SecretSetting();
}
