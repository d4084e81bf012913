using Tessera.Build;

namespace Tessera.Tests.Build;

/// <summary>The build's libstdc++ compatibility patch: what it changes, where, and that it leaves the cache alone.</summary>
public class ElfVersionNeedTests
{
    const string Version = "GLIBCXX_3.4.32";

    static string CachedLibrary()
    {
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        return Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
    }

    static string OutputLibrary() =>
        Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    static bool SystemLacksVersion() =>
        ElfVersionNeed.FindSystemLibStdCxx() is { } lib && !ElfVersionNeed.FileMentions(lib, Version);

    [Fact]
    public void WeakenMarksTheOneVersionNeedAndIsIdempotent()
    {
        byte[] original = File.ReadAllBytes(CachedLibrary());
        byte[] image = (byte[])original.Clone();
        Assert.Equal(ElfPatchResult.MarkedWeak, ElfVersionNeed.Weaken(image, Version));
        Assert.Equal(ElfPatchResult.AlreadyWeak, ElfVersionNeed.Weaken(image, Version));
        // Exactly one byte (the low byte of vna_flags) differs, by the VER_FLG_WEAK bit.
        int[] changed = Enumerable.Range(0, image.Length).Where(i => image[i] != original[i]).ToArray();
        int at = Assert.Single(changed);
        Assert.Equal(0x2, image[at] ^ original[at]);
    }

    [Fact]
    public void UnknownVersionIsNotNeededAndNotAnElfIsRejected()
    {
        byte[] image = File.ReadAllBytes(CachedLibrary());
        Assert.Equal(ElfPatchResult.NotNeeded, ElfVersionNeed.Weaken(image, "GLIBCXX_9.9.9"));
        var error = Assert.Throws<InvalidDataException>(() => ElfVersionNeed.Weaken(new byte[128], Version));
        Assert.Contains("not an ELF file", error.Message);
    }

    [Fact]
    public void BuildOutputCopyIsPatchedOnlyWhereNeededAndTheCacheIsUntouched()
    {
        Assert.True(File.Exists(OutputLibrary()), $"expected the build to copy {OutputLibrary()}");
        byte[] output = File.ReadAllBytes(OutputLibrary());
        var expected = SystemLacksVersion() ? ElfPatchResult.AlreadyWeak : ElfPatchResult.MarkedWeak;
        Assert.Equal(expected, ElfVersionNeed.Weaken(output, Version));
        Assert.Equal(ElfPatchResult.MarkedWeak, ElfVersionNeed.Weaken(File.ReadAllBytes(CachedLibrary()), Version));
    }
}
