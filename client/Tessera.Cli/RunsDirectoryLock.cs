namespace Tessera.Cli;

/// <summary>
/// One embedded silo per runs directory. Its grain state lives in the directory, so a second `tessera run` or `tessera
/// resume` over the same directory would activate the first one's experiment, find it "running" with no silo of its own
/// driving it, and record it as interrupted while the first process still trains it. The lock is the open file
/// <c>.lock</c> (exclusive, released by the OS if the process dies); <c>.lock.owner</c> beside it says who holds it,
/// because the locked file itself cannot be read by the process that is refused.
/// </summary>
public sealed class RunsDirectoryLock : IDisposable
{
    readonly FileStream _lock;
    readonly string _ownerFile;

    RunsDirectoryLock(FileStream @lock, string ownerFile)
    {
        _lock = @lock;
        _ownerFile = ownerFile;
    }

    /// <summary>
    /// Takes <paramref name="runs"/> (creating it), or returns null and sets <paramref name="heldBy"/> to what the current
    /// holder wrote about itself ("pid N since T"), or to "another process" when it wrote nothing readable.
    /// </summary>
    public static RunsDirectoryLock? TryAcquire(string runs, out string heldBy)
    {
        Directory.CreateDirectory(runs);
        string path = Path.Combine(runs, ".lock"), ownerFile = path + ".owner";
        FileStream stream;
        try { stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException)
        {
            try { heldBy = File.ReadAllText(ownerFile).Trim(); }
            catch (IOException) { heldBy = ""; }
            if (heldBy.Length == 0) heldBy = "another process";
            return null;
        }
        try { File.WriteAllText(ownerFile, $"pid {Environment.ProcessId} since {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss} UTC"); }
        catch
        {
            stream.Dispose(); // the directory is not writable: release the lock and let that error name the problem
            throw;
        }
        heldBy = "";
        return new RunsDirectoryLock(stream, ownerFile);
    }

    public void Dispose()
    {
        try { File.Delete(_ownerFile); }
        catch (IOException) { } // a stale owner line is harmless: it is only read by a process the lock refused
        _lock.Dispose();
    }
}
