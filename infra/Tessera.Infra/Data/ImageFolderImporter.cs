using Tessera.Infra.Storage;

namespace Tessera.Infra.Data;

/// <summary>How <see cref="ImageFolderImporter"/> turns image files of any kind into images of one shape.</summary>
public sealed record ImageFolderOptions
{
    /// <summary>1 or 3; null detects: 3 when any image has colour, 1 when all are gray (<see cref="ImageFileReader.IsGray"/>).</summary>
    public int? Channels { get; init; }

    /// <summary>
    /// Resize the shorter side to this and centre-crop to Size × Size (<see cref="Fit"/>). Null keeps the images
    /// as they are; they must then be square and all of one size.
    /// </summary>
    public int? Size { get; init; }

    /// <summary>What transparent pixels are composited on.</summary>
    public ImageBackground Background { get; init; } = ImageBackground.White;

    /// <summary>Fail on the first image that cannot be decoded instead of skipping it.</summary>
    public bool Strict { get; init; }

    /// <summary>The largest <see cref="Size"/>: far beyond what the tokenizers train on, small enough to stay in memory.</summary>
    public const int MaxSize = 1024;
}

/// <summary>An image file left out of an import, and why.</summary>
public sealed record SkippedImage(string File, string Problem);

/// <summary>One class of an import: its name, the folder errors about it name, and its image files in order.</summary>
public sealed record ImageClass(string Name, string Folder, IReadOnlyList<string> Files);

/// <summary>What <see cref="ImageFolderImporter.Read"/> made of a folder.</summary>
public sealed record ImageFolderContent(LabelledImages Images, IReadOnlyList<SkippedImage> Skipped);

/// <summary>A finished import: the dataset written, and the files that were skipped.</summary>
public sealed record ImageFolderImport(DatasetManifest Manifest, IReadOnlyList<int> CountPerClass, IReadOnlyList<SkippedImage> Skipped);

/// <summary>
/// Reads the ImageFolder convention: &lt;root&gt;/&lt;class&gt;/&lt;image&gt;. Class names are the sub-folder names in
/// ordinal order (label = position in that order); images are the files with an image extension directly inside
/// each class folder, in ordinal name order. Other files and hidden entries (leading '.') are ignored, as
/// torchvision's ImageFolder ignores files without an image extension.
/// </summary>
public static class ImageFolderImporter
{
    public static IReadOnlyList<string> Extensions { get; } = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"];

    /// <summary>Suggestion appended to the errors that <see cref="ImageFolderOptions.Size"/> would avoid.</summary>
    private const string SizeHint = "import with --size S to resize every image's shorter side to S and centre-crop it to SxS";

    /// <summary>
    /// The class folders of <paramref name="folder"/> and their image files. A folder without class folders is a
    /// <see cref="DataFormatException"/> naming it.
    /// </summary>
    public static IReadOnlyList<ImageClass> Scan(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder))
            throw new DataFormatException(folder, "image folder does not exist");
        var classDirs = Directory.GetDirectories(folder)
            .Where(d => !Path.GetFileName(d).StartsWith('.'))
            .Order(StringComparer.Ordinal)
            .ToArray();
        if (classDirs.Length == 0)
            throw new DataFormatException(folder, "no class sub-folders (expected <folder>/<class>/<image>.png)");
        return classDirs.Select(dir =>
        {
            var files = Directory.GetFiles(dir)
                .Where(f => !Path.GetFileName(f).StartsWith('.')
                            && Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                .Order(StringComparer.Ordinal)
                .ToArray();
            return new ImageClass(Path.GetFileName(dir), dir, files);
        }).ToList();
    }

    /// <summary>Reads an ImageFolder tree (<see cref="Scan"/>, then <see cref="ReadClasses"/>).</summary>
    public static ImageFolderContent Read(string folder, ImageFolderOptions? options = null, CancellationToken ct = default) =>
        ReadClasses(Scan(folder), options, ct);

    /// <summary>
    /// Decodes every image, composites it on the background, fits it when a size is given, and settles the
    /// channel count. Problems are <see cref="DataFormatException"/>s naming the file or class folder: an
    /// undecodable image (unless skipped), a non-square image or one of another size than the first when no
    /// size is given, a class without images or whose images were all skipped.
    /// </summary>
    public static ImageFolderContent ReadClasses(IReadOnlyList<ImageClass> classes, ImageFolderOptions? options = null,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(classes);
        options ??= new ImageFolderOptions();
        if (options.Channels is not (null or 1 or 3))
            throw new ArgumentOutOfRangeException(nameof(options), options.Channels, "channels must be 1 (grayscale) or 3 (RGB)");
        if (options.Size is < 1 or > ImageFolderOptions.MaxSize)
            throw new ArgumentOutOfRangeException(nameof(options), options.Size, $"size must be between 1 and {ImageFolderOptions.MaxSize}");
        if (classes.Count == 0)
            throw new ArgumentException("at least one class is required", nameof(classes));
        // Before decoding anything: a big folder should not take minutes to report an empty class.
        if (classes.FirstOrDefault(c => c.Files.Count == 0) is { } empty)
            throw new DataFormatException(empty.Folder, $"class folder has no images ({string.Join(", ", Extensions)})");

        var rgb = new MemoryStream();
        var labels = new List<int>();
        var skipped = new List<SkippedImage>();
        string? firstFile = null;
        (int Width, int Height) size = default;
        var anyColour = false;
        for (var label = 0; label < classes.Count; label++)
        {
            var kept = 0;
            foreach (var file in classes[label].Files)
            {
                ct.ThrowIfCancellationRequested();
                RgbImage image;
                try
                {
                    image = ImageFileReader.Read(file, options.Background, options.Size);
                }
                catch (DataFormatException e) when (!options.Strict)
                {
                    skipped.Add(new SkippedImage(e.File, e.Problem));
                    continue;
                }
                if (firstFile is null)
                {
                    if (image.Width != image.Height)
                        throw new DataFormatException(file, $"image is {image.Width}x{image.Height}, not square; {SizeHint}");
                    (firstFile, size) = (file, (image.Width, image.Height));
                }
                else if ((image.Width, image.Height) != size)
                {
                    throw new DataFormatException(file,
                        $"image is {image.Width}x{image.Height} but {firstFile} is {size.Width}x{size.Height}; all images must have one size: {SizeHint}");
                }
                anyColour = anyColour || !ImageFileReader.IsGray(image.Planes);
                rgb.Write(image.Planes);
                labels.Add(label);
                kept++;
            }
            if (kept == 0)
            {
                // Every file of this class was skipped, so they are the last entries of the list.
                var first = skipped[^classes[label].Files.Count];
                throw new DataFormatException(classes[label].Folder,
                    $"class has no decodable images: all {classes[label].Files.Count} were skipped (the first, {first.File}: {first.Problem})");
            }
        }

        var channels = options.Channels ?? (anyColour ? 3 : 1);
        var pixels = channels == 3 ? rgb.ToArray() : ToLuma(rgb.GetBuffer(), labels.Count, size.Width * size.Height);
        var images = new LabelledImages(classes.Select(c => c.Name).ToArray(), channels, size.Height, size.Width, pixels, labels.ToArray());
        return new ImageFolderContent(images, skipped);
    }

    /// <summary>Reads the folder, then splits and writes it (nothing is written if reading fails).</summary>
    public static async Task<ImageFolderImport> ImportAsync(IArtifactStore store, string name, string folder,
        ImageFolderOptions? folderOptions = null, ImportOptions? options = null, CancellationToken ct = default)
    {
        DatasetStore.ValidateName(name);
        var content = Read(folder, folderOptions, ct);
        var manifest = await DatasetImporter.ImportAsync(store, name, content.Images, options, ct).ConfigureAwait(false);
        return new ImageFolderImport(manifest, content.Images.CountPerClass(), content.Skipped);
    }

    private static byte[] ToLuma(byte[] rgb, int count, int area)
    {
        var luma = new byte[(long)count * area];
        for (var i = 0; i < count; i++)
            ImageFileReader.ToLuma(rgb.AsSpan(i * 3 * area, 3 * area), luma.AsSpan(i * area, area));
        return luma;
    }
}
