using SkiaSharp;
using Tessera.Infra.Storage;

namespace Tessera.Infra.Data;

/// <summary>
/// Reads the ImageFolder convention: &lt;root&gt;/&lt;class&gt;/&lt;image&gt;. Class names are the sub-folder names in
/// ordinal order (label = position in that order); images are the .png, .jpg and .jpeg files directly inside
/// each class folder, in ordinal name order. Other files and hidden entries (leading '.') are ignored, as
/// torchvision's ImageFolder ignores files without an image extension. Alpha is dropped, not composited.
/// </summary>
public static class ImageFolderImporter
{
    private static readonly string[] Extensions = [".png", ".jpg", ".jpeg"];

    /// <summary>
    /// Decodes every image into <paramref name="channels"/> = 1 (grayscale, ITU-R BT.601 luma) or 3 (RGB).
    /// Throws <see cref="DataFormatException"/> naming the folder or file for an empty class folder, an
    /// undecodable image, or an image whose size differs from the first one.
    /// </summary>
    public static LabelledImages Read(string folder, int channels = 1, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (channels is not (1 or 3))
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be 1 (grayscale) or 3 (RGB)");
        if (!Directory.Exists(folder))
            throw new DataFormatException(folder, "image folder does not exist");
        var classDirs = Directory.GetDirectories(folder)
            .Where(d => !Path.GetFileName(d).StartsWith('.'))
            .Order(StringComparer.Ordinal)
            .ToArray();
        if (classDirs.Length == 0)
            throw new DataFormatException(folder, "no class sub-folders (expected <folder>/<class>/<image>.png)");

        var classNames = classDirs.Select(Path.GetFileName).Select(n => n!).ToArray();
        var labels = new List<int>();
        var pixels = new MemoryStream();
        string? firstFile = null;
        (int Width, int Height) size = default;
        for (var label = 0; label < classDirs.Length; label++)
        {
            var files = Directory.GetFiles(classDirs[label])
                .Where(f => !Path.GetFileName(f).StartsWith('.')
                            && Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                .Order(StringComparer.Ordinal)
                .ToArray();
            if (files.Length == 0)
                throw new DataFormatException(classDirs[label], $"class folder has no images ({string.Join(", ", Extensions)})");
            foreach (var file in files)
            {
                ct.ThrowIfCancellationRequested();
                var (width, height, rgba) = Decode(file);
                if (firstFile is null)
                    (firstFile, size) = (file, (width, height));
                else if ((width, height) != size)
                    throw new DataFormatException(file,
                        $"image is {width}x{height} but {firstFile} is {size.Width}x{size.Height}; all images must have the same size");
                pixels.Write(ToPlanes(rgba, width * height, channels));
                labels.Add(label);
            }
        }
        return new LabelledImages(classNames, channels, size.Height, size.Width, pixels.ToArray(), labels.ToArray());
    }

    /// <summary>Reads the folder, then splits and writes it (nothing is written if reading fails).</summary>
    public static async Task<DatasetManifest> ImportAsync(IArtifactStore store, string name, string folder, int channels = 1,
        ImportOptions? options = null, CancellationToken ct = default)
    {
        DatasetStore.ValidateName(name);
        var images = Read(folder, channels, ct);
        return await DatasetImporter.ImportAsync(store, name, images, options, ct).ConfigureAwait(false);
    }

    private static (int Width, int Height, byte[] Rgba) Decode(string file)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException(file, $"cannot read: {e.Message}");
        }
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data)
            ?? throw new DataFormatException(file, "not a decodable PNG or JPEG image");
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        if (info.Width <= 0 || info.Height <= 0)
            throw new DataFormatException(file, $"image has no pixels ({info.Width}x{info.Height})");
        using var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        // IncompleteInput means a truncated file whose missing rows Skia would fill in; treat it as corrupt.
        if (result != SKCodecResult.Success)
            throw new DataFormatException(file, $"image data could not be decoded ({result})");
        return (info.Width, info.Height, bitmap.GetPixelSpan().ToArray());
    }

    /// <summary>Interleaved RGBA rows → (C, H, W) planes.</summary>
    private static byte[] ToPlanes(byte[] rgba, int area, int channels)
    {
        var planes = new byte[channels * area];
        for (var i = 0; i < area; i++)
        {
            int r = rgba[4 * i], g = rgba[4 * i + 1], b = rgba[4 * i + 2];
            if (channels == 1)
            {
                planes[i] = (byte)((299 * r + 587 * g + 114 * b + 500) / 1000);
            }
            else
            {
                planes[i] = (byte)r;
                planes[area + i] = (byte)g;
                planes[2 * area + i] = (byte)b;
            }
        }
        return planes;
    }
}
