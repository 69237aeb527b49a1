#!/usr/bin/env bash
# Seconds per training step: 2 MPI ranks x 1 worker, 1 process x 2 workers, 1 process x 2 threads (one pass) and
# 1 process x 1 thread, at the default model (three rounds, interleaved) and at 60 filters / 2 blocks (one round);
# medians of metrics.csv's seconds_per_step after the warm-up steps. Needs MPICH's mpiexec and a Release build of the
# program (dotnet build samples/LocallyMasked.Cli -c Release). Results: docs/benchmarks.md, "MPI ranks against workers".
set -u
cd "$(dirname "$0")/.."
lmconv=samples/LocallyMasked.Cli/bin/Release/net10.0/lmconv
out=${TMPDIR:-/tmp}/mpi-step-report
mkdir -p "$out"
median() { tail -n +12 "$1/metrics.csv" | cut -d, -f7 | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
run() {
  local name=$1; shift
  rm -rf "$out/$name"; local load; load=$(cut -d' ' -f1 /proc/loadavg)
  if "$@" --output "$out/$name" > "$out/$name.log" 2>&1; then
    echo "$(date -u +%H:%M:%S) $name $(median "$out/$name") s/step, load before $load"
  else
    echo "$name failed: $(tail -1 "$out/$name.log")"
  fi
}
common="train --steps 60 --batch-size 16 --eval-every 0 --final-eval-images 16 --samples 0 --checkpoint-every 1000 --seed 1"
for r in 1 2 3; do
  run "ranks$r" mpiexec -n 2 $lmconv $common --threads 1 --workers 1
  run "workers$r" $lmconv $common --threads 2 --workers 2
  run "threads$r" $lmconv $common --threads 2 --workers 1
  run "one$r" $lmconv $common --threads 1 --workers 1
done
big="train --steps 30 --filters 60 --blocks 2 --batch-size 16 --eval-every 0 --final-eval-images 16 --samples 0 --checkpoint-every 1000 --seed 1"
run big-ranks mpiexec -n 2 $lmconv $big --threads 1 --workers 1
run big-workers $lmconv $big --threads 2 --workers 2
run big-threads $lmconv $big --threads 2 --workers 1
run big-one $lmconv $big --threads 1 --workers 1
