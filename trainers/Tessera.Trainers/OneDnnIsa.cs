using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Tessera.Trainers;

/// <summary>
/// Caps oneDNN (libtorch's CPU convolution library) at AVX2 kernels in every process that loads the trainers, unless
/// the user set ONEDNN_MAX_CPU_ISA. Why: on this project's machines (AVX-512 with VNNI and BF16), the AVX-512 kernels
/// return a NaN in the weight gradient of a first convolution (1 or 3 input channels) now and then, more often under
/// load, with a finite loss: "first non-finite gradient in 'encoder.conv_in.weight'" (tokenizers) or
/// "'trunk.conv1.weight'" (the classifier). Measured 2026-12-08: DigitClassifierTests.LearnsASyntheticShapeTask
/// diverged in 4 runs of 4 uncapped and 2 of 2 with ONEDNN_MAX_CPU_ISA=AVX512_CORE, and passed 4 of 4 with AVX2.
/// oneDNN reads the variable when it first builds a kernel, so it is set when this assembly loads, through libc:
/// .NET's Environment.SetEnvironmentVariable does not reach native getenv on Linux.
/// </summary>
static class OneDnnIsa
{
    public const string Variable = "ONEDNN_MAX_CPU_ISA";

#pragma warning disable CA2255 // a library's module initializer, on purpose: it must run before any libtorch kernel, whichever app loads the trainers
    [ModuleInitializer]
    internal static void Cap()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(Variable) is not null) return;
        Environment.SetEnvironmentVariable(Variable, "AVX2"); // what this process and its children see from .NET
        _ = setenv(Variable, "AVX2", overwrite: 0);           // what libtorch's oneDNN sees
    }
#pragma warning restore CA2255

    [DllImport("libc", SetLastError = true)]
    static extern int setenv(string name, string value, int overwrite);
}
