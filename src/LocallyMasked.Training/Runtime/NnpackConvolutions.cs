using System.Runtime.InteropServices;
using TorchSharp;

namespace LocallyMasked.Training.Runtime;

/// <summary>
/// Turns off libtorch's NNPACK convolution path for this process. On a CPU that NNPACK does not support, the first
/// convolution that could take the path (a batch of one with a small kernel and input, where oneDNN is not chosen)
/// initializes NNPACK and libtorch prints "Could not initialize NNPACK! Reason: Unsupported hardware." on standard error,
/// once per process, on runs that succeed. libtorch asks <c>at::globalContext().userEnabledNNPACK()</c> before it tries
/// NNPACK; with the flag off it never initializes it and uses its own convolution, so nothing is printed. Nothing
/// happens unless an application calls <see cref="Disable"/>; TorchSharp has no binding for the flag, so it is set
/// through libtorch's exported C++ functions (Itanium ABI: Linux and macOS).
/// </summary>
public static class NnpackConvolutions
{
    private const string GlobalContext = "_ZN2at13globalContextEv";
    private const string SetEnabled = "_ZN2at7Context20setUserEnabledNNPACKEb";
    private const string GetEnabled = "_ZNK2at7Context17userEnabledNNPACKEv";

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr ContextCall();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void SetFlagCall(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    [return: MarshalAs(UnmanagedType.U1)]
    private delegate bool GetFlagCall(IntPtr context);

    /// <summary>
    /// Turns NNPACK off (loading libtorch through TorchSharp first if nothing has yet). Safe to call more than once and
    /// from any thread before convolutions run; results of every convolution stay exact (libtorch's own kernels compute
    /// them instead).
    /// </summary>
    /// <returns>True when the flag is now off; false where libtorch's functions cannot be found (another C++ ABI, a
    /// libtorch without them), which changes nothing else.</returns>
    public static bool Disable()
    {
        if (Bind() is not { } context) return false;
        Marshal.GetDelegateForFunctionPointer<SetFlagCall>(context.Set)(context.Context, false);
        return Enabled == false;
    }

    /// <summary>libtorch's NNPACK flag (<c>userEnabledNNPACK</c>): true unless turned off; null where it cannot be read.</summary>
    public static bool? Enabled => Bind() is { } context ? Marshal.GetDelegateForFunctionPointer<GetFlagCall>(context.Get)(context.Context) : null;

    private static (IntPtr Context, IntPtr Set, IntPtr Get)? Bind()
    {
        if (OperatingSystem.IsWindows()) return null;   // MSVC mangles C++ names otherwise
        _ = torch.get_num_threads();   // makes TorchSharp load libtorch, whose libraries are then found by name
        string name = OperatingSystem.IsMacOS() ? "libtorch_cpu.dylib" : "libtorch_cpu.so";
        if (!NativeLibrary.TryLoad(name, typeof(torch).Assembly, null, out var library)) return null;
        if (!NativeLibrary.TryGetExport(library, GlobalContext, out var global)
            || !NativeLibrary.TryGetExport(library, SetEnabled, out var set)
            || !NativeLibrary.TryGetExport(library, GetEnabled, out var get))
            return null;
        return (Marshal.GetDelegateForFunctionPointer<ContextCall>(global)(), set, get);
    }
}
