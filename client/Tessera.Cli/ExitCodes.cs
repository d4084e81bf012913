namespace Tessera.Cli;

/// <summary>Process exit codes, stable for scripts.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    /// <summary>The experiment (or command) ran and failed.</summary>
    public const int Failed = 1;
    /// <summary>Bad input: an invalid spec, file or argument; nothing was started.</summary>
    public const int InvalidInput = 2;
    /// <summary>No silo to talk to, or (embedded) the runs directory is held by another embedded run.</summary>
    public const int Unavailable = 3;
    /// <summary>The cluster refused the submission: its team is at its submission quota. Nothing was started.</summary>
    public const int Refused = 4;
    /// <summary>Interrupted by Ctrl+C.</summary>
    public const int Interrupted = 130;
}
