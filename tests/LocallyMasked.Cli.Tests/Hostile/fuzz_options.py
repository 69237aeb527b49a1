#!/usr/bin/env python3
"""Fuzzes every option of every lmconv command with extreme values, one at a time, on top of a command line that
works, and reports the runs that end badly: exit code 70 (a bug) or a signal, more than one line on standard error,
a message that names neither the option nor the value, a run over the time limit, or a resident size over the memory
limit (the run is killed there). A development tool, not a test: the hostile-input suite (HostileProgramSuite*.cs) keeps
a case for each family it found.

    python3 fuzz_options.py path/to/lmconv [--only train] [--time 30] [--memory-mb 3000] > report.txt

It works in a temporary folder (removed at the end) and needs nothing but the program: the checkpoint that evaluate,
sample and complete read is trained first with a tiny run.
"""
import os, shutil, subprocess, sys, tempfile, time

NUMBERS = ["0", "-1", "NaN", "Infinity", "-Infinity", "1e300", "-1e300", "1e-300", "2147483647", "2147483648",
           "9223372036854775807", "99999999999999999999", "", " "]
TEXTS = ["", " ", "nonexistent", "/", "/dev/null", "/proc/self/status", "a\nb", "\x01", b"bad\xff\xfe".decode("utf-8", "surrogateescape"),
         "x" * 5000]
SPECIAL = {
    "--size": ["0x0", "-1x-1", "1e300", "99999x99999", "4096x4096", "1x4096", "x", "2147483647x2147483647"],
    "--region": ["box:0,0,2147483647,2147483647", "box:-1,-1,1,1", "box:2147483647,2147483647,2147483647,2147483647",
                 "box:0,0,0,0", "box:1,2", "box:", "box:0,0,99999,99999"],
    "--order-variants": ["-1", "8", "2147483647", "0 0", ""],
    "--mirror": ["file:///etc/", "http://user:secret@127.0.0.1:9/", "ftp://x/", "http://"],
}
FLAGS = {"--download", "--lr-decay-per-epoch", "--per-batch-orders", "--ema-weights", "--verbose", "--help", "-h", "-?"}
CHOICES = {"--device", "--dataset", "--order", "--model", "--sampler", "--normalization"}


def options_of(lmconv, command):
    out = subprocess.run([lmconv, command, "--help"], capture_output=True, text=True).stdout
    names = []
    for line in out.split("Options:")[-1].splitlines():
        parts = line.strip().split()
        if not parts or not parts[0].startswith("-"):
            continue
        name = [p.rstrip(",") for p in parts if p.startswith("--")][0]
        if name in FLAGS or name in CHOICES:
            continue
        names.append(name)
    return names


def base_lines(work, checkpoint):
    out = os.path.join(work, "out")
    return {
        "train": ["train", "--steps", "2", "--filters", "4", "--orders", "1", "--batch-size", "4", "--train-images", "32",
                  "--eval-every", "0", "--final-eval-images", "4", "--samples", "0", "--checkpoint-every", "1", "--output", out],
        "evaluate": ["evaluate", "--checkpoint", checkpoint, "--images", "4", "--orders", "1"],
        "sample": ["sample", "--checkpoint", checkpoint, "--count", "2", "--output", out],
        "complete": ["complete", "--checkpoint", checkpoint, "--count", "1", "--output", out],
        "orders": ["orders", "--orders", "1", "--output", out],
        "download": ["download", "mnist", "--to", out, "--mirror", "http://127.0.0.1:9/"],
    }


def with_value(base, option, value):
    args = list(base)
    if option in args:
        i = args.index(option)
        del args[i:i + 2]
    return args + [option, value]


def run(lmconv, args, cwd, time_limit, memory_limit):
    env = dict(os.environ, TMPDIR=cwd)
    start = time.time()
    p = subprocess.Popen([lmconv] + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    peak, killed = 0, None
    while p.poll() is None:
        try:
            with open(f"/proc/{p.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        peak = max(peak, int(line.split()[1]) * 1024)
        except OSError:
            pass
        if peak > memory_limit:
            killed = "memory"
        elif time.time() - start > time_limit:
            killed = "time"
        if killed:
            p.kill()
            break
        time.sleep(0.02)
    out, err = p.communicate()
    return p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), peak, time.time() - start, killed


def main():
    lmconv = os.path.abspath(sys.argv[1])
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    time_limit = float(sys.argv[sys.argv.index("--time") + 1]) if "--time" in sys.argv else 30
    memory_limit = int(sys.argv[sys.argv.index("--memory-mb") + 1]) * 2**20 if "--memory-mb" in sys.argv else 3000 * 2**20
    work = tempfile.mkdtemp(prefix="lmconv-fuzz-")
    try:
        fixture = os.path.join(work, "fixture")
        code, _, err, _, _, _ = run(lmconv, base_lines(work, "")["train"][:-1] + [fixture], work, 120, memory_limit)
        if code != 0:
            sys.exit(f"the fixture's training failed: {err}")
        checkpoint = os.path.join(fixture, "model.ckpt")
        bad = 0
        for command, base in base_lines(work, checkpoint).items():
            if only and command != only:
                continue
            for option in options_of(lmconv, command):
                for value in SPECIAL.get(option, []) + NUMBERS + TEXTS:
                    case = os.path.join(work, "case")
                    os.makedirs(case, exist_ok=True)
                    args = with_value(base, option, value)
                    code, out, err, peak, seconds, killed = run(lmconv, args, case, time_limit, memory_limit)
                    lines = [l for l in err.splitlines() if l.strip()]
                    problems = []
                    if killed:
                        problems.append(f"killed over the {killed} limit")
                    elif code not in (0, 1, 2):
                        problems.append(f"exit {code}")
                    if code != 0 and len(lines) != 1 and not killed:
                        problems.append(f"{len(lines)} lines on stderr")
                    if code in (1, 2) and lines and option not in lines[0] and (not value.strip() or value.strip() not in lines[0]):
                        problems.append("message names neither the option nor the value")
                    shown = repr(value if len(value) < 40 else value[:20] + f"...({len(value)} chars)")
                    status = "BAD " if problems else "ok  "
                    bad += bool(problems)
                    print(f"{status}{command} {option} {shown}: exit {code}, {seconds:.1f} s, {peak / 2**20:.0f} MiB"
                          + (f"; {'; '.join(problems)}" if problems else "") + (f"\n      {lines[0][:300]}" if lines else ""), flush=True)
                    shutil.rmtree(case, ignore_errors=True)
        print(f"{bad} bad runs")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
