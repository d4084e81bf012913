namespace Tessera.Tests.Servers;

/// <summary>
/// The real Redis and Azurite that infra/scripts/test.sh (through services.sh) starts on loopback for the
/// cluster-mode tests. A test that needs one and does not find it fails with how to get it: never a skip.
/// </summary>
public static class TestServers
{
    public const string RedisVariable = "TESSERA_TEST_REDIS";
    public const string BlobVariable = "TESSERA_TEST_BLOB";

    /// <summary>StackExchange.Redis connection string, e.g. <c>127.0.0.1:23456</c>.</summary>
    public static string Redis => Require(RedisVariable, "Redis");

    /// <summary>Azure Storage connection string of Azurite's development account.</summary>
    public static string Blob => Require(BlobVariable, "Azurite");

    /// <summary>
    /// The test Redis with <paramref name="database"/> as the default database, emptied first. A Tessera cluster keeps
    /// its grain state under the one service id, so each test class that starts silos takes a database of its own.
    /// </summary>
    public static async Task<string> FreshRedisDatabase(int database)
    {
        string connection = $"{Redis},defaultDatabase={database},allowAdmin=true";
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(connection);
        foreach (var server in redis.GetServers()) await server.FlushDatabaseAsync(database);
        return $"{Redis},defaultDatabase={database}";
    }

    static string Require(string variable, string server) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{variable} is not set: this test needs a real {server} server. Run the tests with `bash infra/scripts/test.sh`, " +
                "which starts Redis and Azurite on loopback and exports TESSERA_TEST_REDIS and TESSERA_TEST_BLOB " +
                "(or `bash infra/scripts/services.sh up DIR && source DIR/env` before `dotnet test`).");
}
