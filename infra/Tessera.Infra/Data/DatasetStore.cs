using Tessera.Infra.Storage;

namespace Tessera.Infra.Data;

/// <summary>
/// Image datasets in an <see cref="IArtifactStore"/>: shards "datasets/&lt;name&gt;/train-00000.shard", …,
/// "heldout-00000.shard", …, and "datasets/&lt;name&gt;/manifest.json" written last. The manifest is the commit
/// point: a crash part-way leaves shards that nothing references and a dataset that does not exist yet.
/// </summary>
public static class DatasetStore
{
    private static readonly SemaphoreSlim BuiltinGate = new(1, 1);

    /// <summary>
    /// Datasets that <see cref="EnsureBuiltinAsync"/> can materialise: `mnist` ships inside Tessera.Infra.dll,
    /// `icons` is installed from Debian packages on first use (<see cref="IconsDataset"/>).
    /// </summary>
    public static IReadOnlyList<string> BuiltinNames { get; } = ["mnist", IconsDataset.Name];

    public static string ManifestPath(string name) => $"datasets/{name}/manifest.json";

    /// <summary>Dataset names become one path segment: lower-case letters, digits, '-', '_', '.', not leading '.'.</summary>
    public static void ValidateName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length is 0 or > 64 || name[0] == '.'
            || !name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_' or '.'))
            throw new ArgumentException(
                $"invalid dataset name '{name}': use 1-64 of a-z 0-9 - _ . and do not start with '.'", nameof(name));
    }

    public static Task<bool> ExistsAsync(IArtifactStore store, string name, CancellationToken ct = default)
    {
        ValidateName(name);
        return store.ExistsAsync(ManifestPath(name), ct);
    }

    /// <summary>
    /// Writes a new dataset. Train images are dealt round-robin over <paramref name="trainShards"/> shards, so
    /// every shard sees every class even when the input is sorted by class; the held-out images go into
    /// shards of at most the same size. Fails without writing anything if the dataset already exists or the
    /// inputs disagree.
    /// </summary>
    public static async Task<DatasetManifest> WriteAsync(IArtifactStore store, string name, LabelledImages train,
        LabelledImages heldOut, int trainShards, CancellationToken ct = default)
    {
        CheckWriteArguments(store, name, train, heldOut, trainShards);
        if (await store.ExistsAsync(ManifestPath(name), ct).ConfigureAwait(false))
            throw new InvalidOperationException($"dataset '{name}' already exists in {store.Location}");
        return await WriteCoreAsync(store, name, train, heldOut, trainShards, ct).ConfigureAwait(false);
    }

    /// <summary>Reads and checks the manifest; <see cref="DatasetNotFoundException"/> if the dataset does not exist.</summary>
    public static async Task<DatasetManifest> ReadManifestAsync(IArtifactStore store, string name, CancellationToken ct = default)
    {
        ValidateName(name);
        var path = ManifestPath(name);
        byte[] json;
        try
        {
            json = await ReadAllAsync(store, path, ct).ConfigureAwait(false);
        }
        catch (ArtifactNotFoundException)
        {
            throw new DatasetNotFoundException(name, store.Location);
        }
        var manifest = DatasetManifest.Parse(path, json);
        if (manifest.Name != name)
            throw new DataFormatException(path, $"manifest is for dataset '{manifest.Name}', not '{name}'");
        return manifest;
    }

    /// <summary>Reads one shard, verifying the SHA-256 and image count the manifest recorded for it.</summary>
    public static async Task<ImageShard> ReadShardAsync(IArtifactStore store, ShardEntry entry, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(entry);
        // The store checks the bytes against the hash it recorded while they are read (no second pass here); the
        // manifest must name that same hash, or the shard was replaced since the manifest was written.
        var bytes = await ReadAllAsync(store, entry.Path, ct).ConfigureAwait(false);
        var recorded = (await store.GetAsync(entry.Path, ct).ConfigureAwait(false)).Sha256;
        if (!string.Equals(recorded, entry.Sha256, StringComparison.OrdinalIgnoreCase))
            throw new DataFormatException(entry.Path, $"checksum mismatch: manifest records sha256 {entry.Sha256}, the store holds {recorded}");
        var shard = ImageShard.Parse(entry.Path, bytes);
        if (shard.Count != entry.Count)
            throw new DataFormatException(entry.Path, $"holds {shard.Count} images but the manifest records {entry.Count}");
        return shard;
    }

    /// <summary>
    /// All images of one split (e.g. <c>manifest.HeldOut</c>) as a single batch, in shard order, checking each
    /// shard against the manifest's shape and class count.
    /// </summary>
    public static async Task<ImageBatch> ReadSplitAsync(IArtifactStore store, DatasetManifest manifest,
        IReadOnlyList<ShardEntry> split, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(split);
        var perImage = manifest.Channels * manifest.Height * manifest.Width;
        var total = split.Sum(s => (long)s.Count);
        var pixels = new byte[total * perImage];
        var labels = new int[total];
        var offset = 0;
        foreach (var entry in split)
        {
            var shard = await ReadShardAsync(store, entry, ct).ConfigureAwait(false);
            if (shard.Channels != manifest.Channels || shard.Height != manifest.Height || shard.Width != manifest.Width)
                throw new DataFormatException(entry.Path,
                    $"images are {shard.Channels}x{shard.Height}x{shard.Width} but the manifest says {manifest.Channels}x{manifest.Height}x{manifest.Width}");
            var bad = Array.FindIndex(shard.Labels, l => l >= manifest.ClassNames.Count);
            if (bad >= 0)
                throw new DataFormatException(entry.Path, $"image {bad} has label {shard.Labels[bad]} but the dataset has {manifest.ClassNames.Count} classes");
            shard.Pixels.CopyTo(pixels, (long)offset * perImage);
            shard.Labels.CopyTo(labels, offset);
            offset += shard.Count;
        }
        return new ImageBatch(pixels, labels, offset, manifest.Channels, manifest.Height, manifest.Width);
    }

    /// <summary>
    /// Imports a builtin dataset unless its manifest is already there (then returns the existing manifest,
    /// whatever shard count it was built with). Safe to call from many places at once: the content is
    /// deterministic, so racing writers write identical bytes. <paramref name="progress"/> hears what a first
    /// install from packages does (default: standard error, since it downloads and takes seconds).
    /// </summary>
    public static async Task<DatasetManifest> EnsureBuiltinAsync(IArtifactStore store, string name, int trainShards,
        CancellationToken ct = default, Action<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(name);
        if (!BuiltinNames.Contains(name))
            throw new ArgumentException($"unknown builtin dataset '{name}'; known builtins: {string.Join(", ", BuiltinNames)}", nameof(name));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(trainShards);
        await BuiltinGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (await store.ExistsAsync(ManifestPath(name), ct).ConfigureAwait(false))
                return await ReadManifestAsync(store, name, ct).ConfigureAwait(false);
            var split = name == IconsDataset.Name
                ? await IconsDataset.LoadSplitAsync(IconsDataset.DefaultCache(), progress ?? Console.Error.WriteLine, ct).ConfigureAwait(false)
                : BundledMnist.LoadSplit();
            CheckWriteArguments(store, name, split.Train, split.HeldOut, trainShards);
            return await WriteCoreAsync(store, name, split.Train, split.HeldOut, trainShards, ct).ConfigureAwait(false);
        }
        finally
        {
            BuiltinGate.Release();
        }
    }

    private static void CheckWriteArguments(IArtifactStore store, string name, LabelledImages train, LabelledImages heldOut, int trainShards)
    {
        ArgumentNullException.ThrowIfNull(store);
        ValidateName(name);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(heldOut);
        if (train.Count == 0)
            throw new ArgumentException($"dataset '{name}' has no train images", nameof(train));
        if (trainShards < 1 || trainShards > train.Count)
            throw new ArgumentOutOfRangeException(nameof(trainShards), trainShards, $"train shard count must be between 1 and {train.Count} (the number of train images)");
        if (heldOut.Channels != train.Channels || heldOut.Height != train.Height || heldOut.Width != train.Width
            || !heldOut.ClassNames.SequenceEqual(train.ClassNames, StringComparer.Ordinal))
            throw new ArgumentException("train and held-out images must have the same shape and class names", nameof(heldOut));
    }

    private static async Task<DatasetManifest> WriteCoreAsync(IArtifactStore store, string name, LabelledImages train,
        LabelledImages heldOut, int trainShards, CancellationToken ct)
    {
        var shardSize = (train.Count + trainShards - 1) / trainShards;
        var heldOutShards = (heldOut.Count + shardSize - 1) / shardSize;
        var trainEntries = await WriteShardsAsync(store, name, "train", train, trainShards, ct).ConfigureAwait(false);
        var heldOutEntries = await WriteShardsAsync(store, name, "heldout", heldOut, heldOutShards, ct).ConfigureAwait(false);
        var manifest = new DatasetManifest(name, train.ClassNames, train.Channels, train.Height, train.Width, trainEntries, heldOutEntries);
        manifest.Check(ManifestPath(name));
        using var json = new MemoryStream(manifest.ToJson());
        await store.WriteAsync(ManifestPath(name), json, ct).ConfigureAwait(false);
        return manifest;
    }

    private static async Task<IReadOnlyList<ShardEntry>> WriteShardsAsync(IArtifactStore store, string name, string split,
        LabelledImages images, int shardCount, CancellationToken ct)
    {
        var entries = new List<ShardEntry>(shardCount);
        for (var s = 0; s < shardCount; s++)
        {
            var indices = new List<int>();
            for (var i = s; i < images.Count; i += shardCount)
                indices.Add(i);
            var path = $"datasets/{name}/{split}-{s:D5}.shard";
            using var content = new MemoryStream(ImageShard.From(images.Select(indices)).ToBytes());
            var written = await store.WriteAsync(path, content, ct).ConfigureAwait(false);
            entries.Add(new ShardEntry(path, written.Sha256, indices.Count));
        }
        return entries;
    }

    private static async Task<byte[]> ReadAllAsync(IArtifactStore store, string path, CancellationToken ct)
    {
        await using var stream = await store.OpenReadAsync(path, ct).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, ct).ConfigureAwait(false);
        return buffer.ToArray();
    }
}
