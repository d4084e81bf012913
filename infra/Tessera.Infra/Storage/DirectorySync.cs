using System.Runtime.InteropServices;

namespace Tessera.Infra.Storage;

/// <summary>
/// fsync of a directory, so that a rename survives a power loss and not only a process crash. .NET has no
/// API for it, hence the direct libc calls. Best effort: Windows (where renames are journaled by NTFS) and
/// file systems that refuse it are skipped.
/// </summary>
internal static class DirectorySync
{
    public static void Flush(string directory)
    {
        if (OperatingSystem.IsWindows())
            return;
        var fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0)
            return;
        try
        {
            _ = Fsync(fd);
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int fd);
}
