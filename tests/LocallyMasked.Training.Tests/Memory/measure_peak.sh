#!/bin/bash
# Measures the peak resident memory of a three-step training run of lmconv (the calibration runs of
# LocallyMasked.Training.Memory.TrainingMemory; docs/limits.md). GNU time's %M is the maximum resident set in KiB.
# usage: LMCONV=path/to/lmconv measure_peak.sh label [train options...]   ->   label rc peakKB seconds options
L=${LMCONV:?set LMCONV to the lmconv executable}
label=$1; shift
out=${TMPDIR:-/tmp}/out-$label
rm -rf $out
/usr/bin/time -f "%M %e" -o ${TMPDIR:-/tmp}/time-$label $L train --steps 3 --eval-every 0 --samples 0 --checkpoint-every 3 --output $out "$@" > ${TMPDIR:-/tmp}/log-$label 2>&1
rc=$?
steps=$(tail -n +2 $out/metrics.csv 2>/dev/null | awk -F, '{printf "%s ", $NF}')
echo "$label rc=$rc peakKB=$(cut -d' ' -f1 ${TMPDIR:-/tmp}/time-$label) steps=[$steps] s=$(cut -d' ' -f2 ${TMPDIR:-/tmp}/time-$label) :: $*"
rm -rf $out
