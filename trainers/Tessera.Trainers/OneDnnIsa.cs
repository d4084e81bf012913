using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Tessera.Trainers;

/// <summary>
/// Caps oneDNN (libtorch's CPU convolution library) at SSE4.1 kernels in every process that loads the trainers, unless
/// the user set ONEDNN_MAX_CPU_ISA. Why: on this project's machines (AVX-512 with VNNI and BF16), oneDNN's AVX kernels
/// return a NaN in the weight gradient of a first convolution (1 or 3 input channels) now and then, more often under
/// load, with a finite loss: "first non-finite gradient in 'encoder.conv_in.weight'" (tokenizers) or
/// "'trunk.conv1.weight'" (the classifier). Measured 2026-12-08: DigitClassifierTests.LearnsASyntheticShapeTask
/// diverged in 4 runs of 4 uncapped and 2 of 2 at AVX512_CORE, and passed 4 of 4 at AVX2; ColourTokenizerTests
/// (msvq) still failed 3 of 12 cases at AVX2 and passed 12 of 12 at SSE41. The cost is convolution speed on CPU;
/// a CUDA build does not use oneDNN for its convolutions.
/// oneDNN reads the variable when it first builds a kernel, so it is set when this assembly loads, through libc:
/// .NET's Environment.SetEnvironmentVariable does not reach native getenv on Linux.
/// </summary>
static class OneDnnIsa
{
    public const string Variable = "ONEDNN_MAX_CPU_ISA";
    const string Isa = "SSE41";

#pragma warning disable CA2255 // a library's module initializer, on purpose: it must run before any libtorch kernel, whichever app loads the trainers
    [ModuleInitializer]
    internal static void Cap()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(Variable) is not null) return;
        Environment.SetEnvironmentVariable(Variable, Isa); // what this process and its children see from .NET
        _ = setenv(Variable, Isa, overwrite: 0);           // what libtorch's oneDNN sees
    }
#pragma warning restore CA2255

    [DllImport("libc", SetLastError = true)]
    static extern int setenv(string name, string value, int overwrite);
}
