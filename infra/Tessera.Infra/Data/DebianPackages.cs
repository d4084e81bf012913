using System.ComponentModel;
using System.Diagnostics;
using System.Formats.Tar;

namespace Tessera.Infra.Data;

/// <summary>A Debian package could not be fetched or unpacked; the message says which and why.</summary>
public sealed class PackageFetchException(string message) : IOException(message);

/// <summary>
/// Debian packages unpacked into a cache folder without installing them: `apt-get download`, then the
/// package's file tree read from `dpkg-deb --fsys-tarfile`, keeping only the regular files a caller asks for.
/// Nothing outside the cache changes and no root is needed (only package lists that know the package).
/// </summary>
public static class DebianPackages
{
    /// <summary>Written last into a package's folder, holding its version: without it the folder is not used.</summary>
    public const string CompleteMarker = ".complete";

    /// <summary>
    /// The folder "&lt;cache&gt;/&lt;package&gt;" holding the kept files at their paths in the package (e.g.
    /// "usr/share/icons/…"), fetched unless an earlier fetch completed. <paramref name="keep"/> gets each
    /// regular file's path without a leading "./". Links are not kept: the file they point at is kept under
    /// its own name when <paramref name="keep"/> wants it. Concurrent fetches of one package are safe: each
    /// unpacks into its own folder and the first to finish wins.
    /// </summary>
    public static async Task<string> FetchAsync(string cache, string package, Func<string, bool> keep, Action<string> progress,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(keep);
        ArgumentNullException.ThrowIfNull(progress);
        var target = Path.Combine(cache, package);
        if (File.Exists(Path.Combine(target, CompleteMarker)))
            return target;

        var work = Path.Combine(cache, $".{package}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        try
        {
            progress($"downloading Debian package {package} (apt-get download)");
            await RunAsync("apt-get", ["download", package], work, package, ct).ConfigureAwait(false);
            var deb = Directory.GetFiles(work, "*.deb").SingleOrDefault()
                ?? throw new PackageFetchException($"apt-get download {package} left no .deb file in {work}");
            var version = (await RunAsync("dpkg-deb", ["--field", deb, "Version"], work, package, ct).ConfigureAwait(false)).Trim();
            var tree = Path.Combine(work, "tree");
            var kept = await ExtractAsync(deb, tree, keep, package, ct).ConfigureAwait(false);
            progress($"unpacked {package} {version} ({new FileInfo(deb).Length / 1e6:F1} MB): kept {kept} files");
            await File.WriteAllTextAsync(Path.Combine(tree, CompleteMarker), version, ct).ConfigureAwait(false);
            try
            {
                Directory.Move(tree, target);
            }
            catch (IOException) when (File.Exists(Path.Combine(target, CompleteMarker)))
            {
                // Another process fetched the same package first; its copy is as good as ours.
            }
            return target;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>The version recorded by a completed fetch, or null if <paramref name="folder"/> holds none.</summary>
    public static string? FetchedVersion(string folder)
    {
        var marker = Path.Combine(folder, CompleteMarker);
        return File.Exists(marker) ? File.ReadAllText(marker).Trim() : null;
    }

    private static async Task<int> ExtractAsync(string deb, string tree, Func<string, bool> keep, string package, CancellationToken ct)
    {
        using var process = Start("dpkg-deb", ["--fsys-tarfile", deb], Path.GetDirectoryName(deb)!, package);
        try
        {
            var errors = process.StandardError.ReadToEndAsync(ct);
            var root = Path.GetFullPath(tree) + Path.DirectorySeparatorChar;
            var kept = 0;
            var output = process.StandardOutput.BaseStream;
            await using (var reader = new TarReader(output, leaveOpen: true))
            {
                while (await reader.GetNextEntryAsync(copyData: false, ct).ConfigureAwait(false) is { } entry)
                {
                    if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
                        continue;
                    var name = entry.Name.StartsWith("./", StringComparison.Ordinal) ? entry.Name[2..] : entry.Name;
                    if (!keep(name))
                        continue;
                    var path = Path.GetFullPath(Path.Combine(tree, name));
                    // A package is trusted less than the cache it lands in: no entry may climb out of its folder.
                    if (!path.StartsWith(root, StringComparison.Ordinal))
                        throw new PackageFetchException($"{deb}: entry '{entry.Name}' points outside the package's folder");
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    await entry.ExtractToFileAsync(path, overwrite: false, ct).ConfigureAwait(false);
                    kept++;
                }
            }
            // The tar end marker may be followed by padding; dpkg-deb blocks until it is read.
            await output.CopyToAsync(Stream.Null, ct).ConfigureAwait(false);
            await process.WaitForExitAsync(ct).ConfigureAwait(false);
            if (process.ExitCode != 0)
                throw new PackageFetchException($"dpkg-deb --fsys-tarfile {deb} failed (exit {process.ExitCode}): {(await errors.ConfigureAwait(false)).Trim()}");
            return kept;
        }
        finally
        {
            StopUnfinished(process);
        }
    }

    /// <summary>Runs a tool to the end and returns its standard output; a failure names the command and what it printed.</summary>
    private static async Task<string> RunAsync(string tool, string[] arguments, string folder, string package, CancellationToken ct)
    {
        using var process = Start(tool, arguments, folder, package);
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var errors = process.StandardError.ReadToEndAsync(ct);
        try
        {
            await process.WaitForExitAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            StopUnfinished(process);
        }
        var stderr = (await errors.ConfigureAwait(false)).Trim();
        if (process.ExitCode != 0)
        {
            var hint = stderr.Contains("Unable to locate package", StringComparison.Ordinal)
                ? $"; apt's package lists do not know {package}: run `apt-get update` (as root) first"
                : "";
            throw new PackageFetchException($"{tool} {string.Join(' ', arguments)} failed (exit {process.ExitCode}): {stderr}{hint}");
        }
        return await output.ConfigureAwait(false);
    }

    /// <summary>A cancelled or failed caller must not leave the tool running (or blocked on a full pipe).</summary>
    private static void StopUnfinished(Process process)
    {
        if (!process.HasExited)
            process.Kill(entireProcessTree: true);
    }

    private static Process Start(string tool, string[] arguments, string folder, string package)
    {
        var start = new ProcessStartInfo(tool)
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        try
        {
            return Process.Start(start) ?? throw new PackageFetchException($"{tool} did not start");
        }
        catch (Win32Exception e)
        {
            throw new PackageFetchException(
                $"cannot fetch Debian package {package}: '{tool}' is not available here ({e.Message}); this needs a Debian or Ubuntu machine with apt");
        }
    }
}
