using System.Globalization;
using System.Runtime.InteropServices;
using LocallyMasked.Training.Runtime;

namespace LocallyMasked.Tests.Training.Runtime;

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
        // Below MapThresholdBytes the block comes from the heap, not from a mapping of its own that free() would unmap.
        // The small block allocated after it keeps it off the top of its heap, so that only the map threshold decides
        // (a test thread's arena may delete a heap that becomes entirely free, whatever the trim threshold).
        const int size = 24 << 20;
        var block = Marshal.AllocHGlobal(size); // malloc
        // A small request may be served from a free chunk anywhere in the arena (left by earlier tests' threads); only
        // an anchor above the block keeps the block off the top, so allocate until one lands there.
        var anchors = new List<IntPtr>();
        do anchors.Add(Marshal.AllocHGlobal(64));
        while ((ulong)anchors[^1] < (ulong)block + size && anchors.Count < 100_000);
        try
        {
            // Touch every page so that it is resident.
            for (var offset = 0; offset < size; offset += 4096) Marshal.WriteByte(block, offset, 1);
            var resident = ResidentBytes();
            Marshal.FreeHGlobal(block);
            var afterFree = ResidentBytes();

            // Unmapped, the 24 MB would leave the resident set (they do in a fresh process without Retain); kept in
            // the heap, the resident size barely moves.
            (resident - afterFree).Should().BeLessThan(8L << 20);
        }
        finally
        {
            foreach (var anchor in anchors) Marshal.FreeHGlobal(anchor);
        }
    }

    private static long ResidentBytes() =>
        long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
}
