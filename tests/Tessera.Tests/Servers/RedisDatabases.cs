namespace Tessera.Tests.Servers;

/// <summary>Which Redis database each test class that starts silos owns (Redis has 16; 0 is left to people).</summary>
public static class RedisDatabases
{
    public const int Restart = 1;
    public const int Scheduler = 2;
    public const int ThreeSilos = 3;
    public const int Failure = 4;
    public const int Submission = 5;
}
