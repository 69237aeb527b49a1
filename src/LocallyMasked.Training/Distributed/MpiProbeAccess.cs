using System.Runtime.CompilerServices;

// The multi-process test program (tests/LocallyMasked.MpiProbe) checks the binding's constants by calling MPI with them,
// and times the fixed-order sum against MPICH's own: it needs the internal binding.
[assembly: InternalsVisibleTo("LocallyMasked.MpiProbe")]
