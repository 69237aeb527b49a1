using System.Globalization;
using System.Runtime.InteropServices;
using LocallyMasked.Runtime;

namespace LocallyMasked.Tests.Runtime;

public class NativeHeapRetentionTests
{
    private static bool IsGlibcLinux =>
        OperatingSystem.IsLinux() && File.ReadLines("/proc/self/maps").Any(line => line.Contains("libc.so.6", StringComparison.Ordinal));

    [Fact]
    public void A_freed_block_below_the_map_threshold_stays_in_the_process()
    {
        if (!IsGlibcLinux)
        {
            NativeHeapRetention.Retain().Should().BeFalse();
            return;
        }

        NativeHeapRetention.Retain().Should().BeTrue();
        const int size = 24 << 20; // below MapThresholdBytes: served by the heap, and kept there after free
        var block = Marshal.AllocHGlobal(size); // malloc
        // Touch every page so that it is resident.
        for (var offset = 0; offset < size; offset += 4096) Marshal.WriteByte(block, offset, 1);
        var resident = ResidentBytes();
        Marshal.FreeHGlobal(block);
        var afterFree = ResidentBytes();

        // Returned to the kernel, the 24 MB would leave the resident set; retained, the resident size barely moves.
        (resident - afterFree).Should().BeLessThan(8L << 20);
    }

    private static long ResidentBytes() =>
        long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
}
