using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Tessera.Infra.Data;

/// <summary>
/// The builtin colour dataset `icons`: the 32×32 PNG icons of three free desktop icon themes, one class per
/// freedesktop.org icon context (actions, apps, …). Installed on first use from Debian packages into a cache
/// folder (<see cref="DebianPackages"/>), then read through <see cref="ImageFolderImporter"/>, transparency on
/// white. data/icons/README.md names the packages and their licences.
/// </summary>
public static class IconsDataset
{
    public const string Name = "icons";

    /// <summary>The icons' side; images of any other size in a 32 folder are left out.</summary>
    public const int Side = 32;

    /// <summary>
    /// Most icons one class keeps, so "actions" (about 870) does not drown "places" (about 100). The kept ones
    /// are those with the smallest SHA-256: fixed, and blind to names and themes.
    /// </summary>
    public const int PerClassCap = 400;

    /// <summary>Held-out share of each class and the seed of its choice (<see cref="DatasetSplit.Balanced"/>).</summary>
    public const double HeldOutFraction = 0.1;

    public const ulong SplitSeed = 0;

    /// <summary>Each Debian package and the theme folder (under usr/share/icons) taken from it, in priority order.</summary>
    public static IReadOnlyList<(string Package, string Theme)> Sources { get; } =
    [
        ("oxygen-icon-theme", "oxygen"),
        ("faenza-icon-theme", "Faenza"),
        ("mate-icon-theme", "mate"),
    ];

    /// <summary>
    /// The icon contexts kept as classes. The others (categories, emblems, emotes, animations) hold too few
    /// icons across the three themes to learn a class from (under 70 each).
    /// </summary>
    public static IReadOnlyList<string> Classes { get; } = ["actions", "apps", "devices", "mimetypes", "places", "status"];

    /// <summary>
    /// "$TESSERA_CACHE/icons", else "$XDG_CACHE_HOME/tessera/icons", else "~/.cache/tessera/icons": where the
    /// packages are unpacked, once per machine.
    /// </summary>
    public static string DefaultCache()
    {
        static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;
        var root = Env("TESSERA_CACHE")
            ?? Path.Combine(Env("XDG_CACHE_HOME") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "tessera");
        return Path.Combine(root, Name);
    }

    /// <summary>Fetches whatever packages the cache lacks, then maps them to classes (<see cref="SelectClasses"/>).</summary>
    public static async Task<IReadOnlyList<ImageClass>> InstallAsync(string cache, Action<string> progress, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(progress);
        if (Sources.Any(s => DebianPackages.FetchedVersion(Path.Combine(cache, s.Package)) is null))
            progress($"{Name}: first use, fetching Debian packages {string.Join(", ", Sources.Select(s => s.Package))} into {cache}");
        foreach (var (package, theme) in Sources)
            await DebianPackages.FetchAsync(cache, package, path => Keeps(package, theme, path), progress, ct).ConfigureAwait(false);
        var classes = SelectClasses(cache);
        progress($"{Name}: {classes.Sum(c => c.Files.Count)} icons in {classes.Count} classes: {string.Join(", ", classes.Select(c => $"{c.Name} {c.Files.Count}"))}");
        return classes;
    }

    /// <summary>All icons as 3×32×32 images on white, split into train and held out.</summary>
    public static async Task<DatasetSplit> LoadSplitAsync(string cache, Action<string> progress, CancellationToken ct = default)
    {
        var classes = await InstallAsync(cache, progress, ct).ConfigureAwait(false);
        // Strict: a Debian theme's PNG that does not decode is a surprise to report, not to skip quietly.
        var options = new ImageFolderOptions { Channels = 3, Background = ImageBackground.White, Strict = true };
        var images = ImageFolderImporter.ReadClasses(classes, options, ct).Images;
        return DatasetSplit.Balanced(images, HeldOutFraction, SplitSeed);
    }

    /// <summary>
    /// Copies the icons into an ImageFolder tree, "&lt;folder&gt;/&lt;class&gt;/&lt;theme&gt;-&lt;file&gt;.png", for
    /// `tessera data import` or any other tool. The folder must not exist yet or be empty.
    /// </summary>
    public static void Materialise(IReadOnlyList<ImageClass> classes, string folder)
    {
        ArgumentNullException.ThrowIfNull(classes);
        if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
            throw new IOException($"{folder}: folder is not empty; give a new or empty folder");
        foreach (var c in classes)
        {
            var target = Path.Combine(folder, c.Name);
            Directory.CreateDirectory(target);
            foreach (var file in c.Files)
                File.Copy(file, Path.Combine(target, FlatName(file)));
        }
    }

    /// <summary>
    /// Maps unpacked packages ("&lt;cache&gt;/&lt;package&gt;/usr/share/icons/&lt;theme&gt;/…") to classes. An icon is
    /// a PNG file in a "32x32/…/&lt;context&gt;" or "&lt;context&gt;/32" folder of its theme (the two layouts the
    /// themes use) whose context is a class, and whose image is 32×32. The same picture under several names
    /// or contexts counts once, where it is met first (themes in <see cref="Sources"/> order, paths in ordinal
    /// order); so does one file name within a class and theme. Then each class keeps at most
    /// <see cref="PerClassCap"/> icons. Classes come in <see cref="Classes"/> order, files in path order.
    /// </summary>
    public static IReadOnlyList<ImageClass> SelectClasses(string cache)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var byClass = Classes.ToDictionary(c => c, _ => new List<(string Hash, string File)>());
        foreach (var (package, theme) in Sources)
        {
            var themeFolder = Path.Combine(cache, package, "usr", "share", "icons", theme);
            if (DebianPackages.FetchedVersion(Path.Combine(cache, package)) is null || !Directory.Exists(themeFolder))
                throw new DataFormatException(themeFolder, $"theme folder is missing: package {package} is not unpacked in {cache}");
            var files = Directory.EnumerateFiles(themeFolder, "*.png", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(themeFolder, f).Replace('\\', '/'))
                .Order(StringComparer.Ordinal);
            foreach (var relative in files)
            {
                if (Context(relative) is not { } context || !byClass.TryGetValue(context, out var members))
                    continue;
                var file = Path.Combine(themeFolder, relative);
                var bytes = File.ReadAllBytes(file);
                if (PngSize(bytes) != (Side, Side))
                    continue;
                var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
                if (!seen.Add(hash) || !names.Add($"{context}/{FlatName(file)}"))
                    continue;
                members.Add((hash, file));
            }
        }
        return Classes.Select(c => new ImageClass(c, $"{cache} (icon context {c})",
            byClass[c].OrderBy(m => m.Hash, StringComparer.Ordinal).Take(PerClassCap)
                .Select(m => m.File).Order(StringComparer.Ordinal).ToList())).ToList();
    }

    /// <summary>What <see cref="DebianPackages.FetchAsync"/> unpacks: the theme's 32-pixel icons and the licence.</summary>
    private static bool Keeps(string package, string theme, string path) =>
        path == $"usr/share/doc/{package}/copyright"
        || (path.StartsWith($"usr/share/icons/{theme}/", StringComparison.Ordinal)
            && path.EndsWith(".png", StringComparison.Ordinal)
            && Context(path) is not null);

    /// <summary>The icon context of a path ending ".../32x32/[...]/context/name.png" or ".../context/32/name.png".</summary>
    private static string? Context(string path)
    {
        var parts = path.Split('/');
        if (parts.Length < 3)
            return null;
        var (parent, grandparent) = (parts[^2], parts[^3]);
        if (parent == "32")
            return grandparent;
        return parts[..^2].Contains("32x32") ? parent : null;
    }

    /// <summary>"&lt;theme&gt;-&lt;file&gt;" for a file under ".../usr/share/icons/&lt;theme&gt;/...".</summary>
    private static string FlatName(string file)
    {
        var parts = file.Replace('\\', '/').Split('/');
        var icons = Array.LastIndexOf(parts, "icons");
        return $"{parts[icons + 1]}-{parts[^1]}";
    }

    /// <summary>Width and height from a PNG's IHDR chunk; (0, 0) for anything that is not a PNG.</summary>
    private static (int Width, int Height) PngSize(byte[] bytes)
    {
        ReadOnlySpan<byte> signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
        if (bytes.Length < 24 || !bytes.AsSpan(0, 8).SequenceEqual(signature) || !bytes.AsSpan(12, 4).SequenceEqual("IHDR"u8))
            return (0, 0);
        return ((int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(16)), (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(20)));
    }
}
