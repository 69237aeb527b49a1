using LocallyMasked.Cli;
using LocallyMasked.Training.Runtime;

// Before libtorch loads: OpenMP workers sleep instead of spinning (spinning workers take shared cores from each other;
// an OMP_WAIT_POLICY set by the user wins).
OpenMpWaitPolicy.PreferPassive();
// Freed tensor memory stays in the heap for the next step instead of being faulted in again (glibc).
NativeHeapRetention.Retain();

// The program only parses arguments and calls the library; each command lives in its own file.
return CliApp.Run(args);
