#nullable enable
// Compiled by MSBuild's RoslynCodeTaskFactory (see TorchSharpNative.targets); the test project also
// compiles it (with ELF_LOGIC_ONLY) so the ELF logic is unit-tested on its own. RoslynCodeTaskFactory builds against
// netstandard2.0, hence no spans here.
using System;
using System.IO;
using System.Text;
#if !ELF_LOGIC_ONLY
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
#endif

namespace Tessera.Build
{
#if !ELF_LOGIC_ONLY // the tests compile only the ELF logic below, without MSBuild
    /// <summary>Marks one GNU version need (e.g. GLIBCXX_3.4.32) weak in ELF files, when the system lacks it.</summary>
    public class WeakenElfVersionNeed : Microsoft.Build.Utilities.Task
    {
        [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();
        [Required] public string VersionName { get; set; } = "";

        public override bool Execute()
        {
            string? libstdcxx = ElfVersionNeed.FindSystemLibStdCxx();
            if (libstdcxx == null)
            {
                Log.LogMessage(MessageImportance.Low, "No system libstdc++ found; nothing to patch.");
                return true;
            }
            if (ElfVersionNeed.FileMentions(libstdcxx, VersionName))
            {
                Log.LogMessage(MessageImportance.Low, $"{libstdcxx} provides {VersionName}; no patch needed.");
                return true;
            }
            foreach (ITaskItem item in Files)
            {
                string path = item.GetMetadata("FullPath");
                try
                {
                    ElfPatchResult result = ElfVersionNeed.WeakenInPlaceAtomically(path, VersionName);
                    Log.LogMessage(MessageImportance.Normal, $"{path}: {VersionName} {result}.");
                }
                catch (Exception e) when (e is IOException || e is InvalidDataException || e is UnauthorizedAccessException)
                {
                    Log.LogError($"{path}: cannot mark {VersionName} weak: {e.Message}");
                }
            }
            return !Log.HasLoggedErrors;
        }
    }

#endif

    public enum ElfPatchResult { MarkedWeak, AlreadyWeak, NotNeeded }

    /// <summary>Reads and edits the .gnu.version_r (Verneed/Vernaux) tables of a 64-bit little-endian ELF file.</summary>
    public static class ElfVersionNeed
    {
        const uint ShtGnuVerneed = 0x6ffffffe;
        const ushort VerFlgWeak = 0x2;

        static readonly string[] LibStdCxxCandidates =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
            "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
        };

        public static string? FindSystemLibStdCxx()
        {
            foreach (string candidate in LibStdCxxCandidates)
                if (File.Exists(candidate)) return candidate;
            return null;
        }

        /// <summary>True when the file's bytes contain the NUL-terminated name (a version definition string).</summary>
        public static bool FileMentions(string path, string name)
        {
            byte[] bytes = File.ReadAllBytes(path);
            byte[] needle = Encoding.ASCII.GetBytes(name + "\0");
            for (int i = Array.IndexOf(bytes, needle[0]); i >= 0 && i <= bytes.Length - needle.Length;
                 i = Array.IndexOf(bytes, needle[0], i + 1))
            {
                int k = 1;
                while (k < needle.Length && bytes[i + k] == needle[k]) k++;
                if (k == needle.Length) return true;
            }
            return false;
        }

        /// <summary>
        /// Writes the patched image to a temporary file beside <paramref name="path"/> and renames it over the
        /// original, so a hard link to a package cache is never modified. Keeps the original timestamp so that
        /// incremental builds do not copy the unpatched file back.
        /// </summary>
        public static ElfPatchResult WeakenInPlaceAtomically(string path, string versionName)
        {
            byte[] image = File.ReadAllBytes(path);
            ElfPatchResult result = Weaken(image, versionName);
            if (result != ElfPatchResult.MarkedWeak) return result;
            DateTime stamp = File.GetLastWriteTimeUtc(path);
            string temp = path + ".tessera-patch.tmp";
            File.WriteAllBytes(temp, image);
            File.SetLastWriteTimeUtc(temp, stamp);
            File.Replace(temp, path, null); // rename(2) on Unix: readers see the old or the new file, never half
            return result;
        }

        /// <summary>Sets VER_FLG_WEAK on the Vernaux entry named <paramref name="versionName"/>, in memory.</summary>
        public static ElfPatchResult Weaken(byte[] image, string versionName)
        {
            if (image.Length < 64 || image[0] != 0x7f || image[1] != (byte)'E' || image[2] != (byte)'L' || image[3] != (byte)'F')
                throw new InvalidDataException("not an ELF file (bad magic number)");
            if (image[4] != 2 || image[5] != 1)
                throw new InvalidDataException("only 64-bit little-endian ELF files are supported");

            ulong shoff = U64(image, 0x28);
            ushort shentsize = U16(image, 0x3A), shnum = U16(image, 0x3C);
            for (int i = 0; i < shnum; i++)
            {
                int sh = Checked(image, shoff + (ulong)(i * shentsize), 64);
                if (U32(image, sh + 4) != ShtGnuVerneed) continue;

                int verneed = Checked(image, U64(image, sh + 0x18), 16);
                uint entries = U32(image, sh + 0x2C);
                int strtabHeader = Checked(image, shoff + (ulong)(U32(image, sh + 0x28) * shentsize), 64);
                ulong strtab = U64(image, strtabHeader + 0x18);

                int need = verneed;
                for (uint n = 0; n < entries; n++)
                {
                    int aux = need + (int)U32(image, need + 8);
                    for (ushort a = 0; a < U16(image, need + 2); a++)
                    {
                        Checked(image, (ulong)aux, 16);
                        string name = CString(image, Checked(image, strtab + U32(image, aux + 8), 1));
                        if (name == versionName)
                        {
                            ushort flags = U16(image, aux + 4);
                            if ((flags & VerFlgWeak) != 0) return ElfPatchResult.AlreadyWeak;
                            ushort weak = (ushort)(flags | VerFlgWeak);
                            image[aux + 4] = (byte)weak;
                            image[aux + 5] = (byte)(weak >> 8);
                            return ElfPatchResult.MarkedWeak;
                        }
                        aux += (int)U32(image, aux + 12);
                    }
                    need += (int)U32(image, need + 12);
                }
            }
            return ElfPatchResult.NotNeeded;
        }

        static int Checked(byte[] image, ulong offset, int length)
        {
            if (offset + (ulong)length > (ulong)image.Length)
                throw new InvalidDataException($"ELF table at offset {offset} runs past the end of the file ({image.Length} bytes)");
            return (int)offset;
        }

        static ushort U16(byte[] b, int o) => BitConverter.ToUInt16(b, o);
        static uint U32(byte[] b, int o) => BitConverter.ToUInt32(b, o);
        static ulong U64(byte[] b, int o) => BitConverter.ToUInt64(b, o);

        static string CString(byte[] b, int o)
        {
            int end = Array.IndexOf(b, (byte)0, o);
            return Encoding.ASCII.GetString(b, o, (end < 0 ? b.Length : end) - o);
        }
    }
}
