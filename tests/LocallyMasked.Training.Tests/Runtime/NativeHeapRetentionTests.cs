using System.Runtime.InteropServices;
using LocallyMasked.Training.Runtime;

namespace LocallyMasked.Training.Tests.Runtime;

public class NativeHeapRetentionTests
{
    private static bool IsGlibcLinux =>
        OperatingSystem.IsLinux() && File.ReadLines("/proc/self/maps").Any(line => line.Contains("libc.so.6", StringComparison.Ordinal));

    [Fact]
    public void A_freed_block_below_the_map_threshold_stays_in_the_process()
    {
        if (!IsGlibcLinux || NativeHeapRetention.UserDecides())
        {
            // Nothing to tune, or the environment's own thresholds win.
            NativeHeapRetention.Retain().Should().BeFalse();
            return;
        }

        NativeHeapRetention.Retain().Should().BeTrue();
        // glibc marks a chunk that has a mapping of its own (which free() unmaps, so that the next allocation faults
        // fresh zeroed pages in) with the IS_MMAPPED bit (2) of the size word just before the pointer. After Retain, a
        // block below MapThresholdBytes comes from a heap and stays in the process when freed; one above still gets
        // its own mapping. Reading the bit is exact whatever arena the test thread uses, unlike the resident size.
        IsMapped(24 << 20).Should().BeFalse("a 24 MB block is below the 32 MB map threshold");
        // A block just above the map threshold may still be carved from free heap that earlier tests left behind
        // (the retained top can reach the 1 GB trim threshold), so the positive check asks for more than any retained
        // heap holds: only a mapping of its own can serve it. It shows that the bit is read right.
        IsMapped(NativeHeapRetention.TrimThresholdBytes + (512 << 20)).Should().BeTrue("a 1.5 GB block is larger than any heap kept below the trim threshold");
    }

    private static bool IsMapped(int size)
    {
        var block = Marshal.AllocHGlobal(size); // malloc
        try
        {
            return (Marshal.ReadInt64(block, -8) & 2) != 0;
        }
        finally
        {
            Marshal.FreeHGlobal(block);
        }
    }
}
