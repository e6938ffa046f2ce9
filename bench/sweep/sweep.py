# sweep.py - runs a list of mirror.py configurations side by side (one
# process each; on one GPU they share it) and prints their held-out bits per
# byte, best first. DIR is what prepare.sh wrote.
#
#   python3 sweep.py DIR RUNS_JSON [--budget SECONDS] [--device cuda|cpu] [--k K]
#
# RUNS_JSON is a list of objects, each a "name" plus the settings that differ
# from the base below (the trainer's flags: layers, embd, heads, ctx, batch,
# steps, warmup, lr, min_lr, dropout, wd, beta2, bpe_p, vocab, seed, ema).
# Each run stops at the budget if not done. Logs go to DIR/logs/NAME.log and,
# when $OUT is set, a tarball of them to $OUT/logs.tgz.
import argparse, json, os, subprocess, sys, time

BASE = dict(vocab=2048, layers=6, embd=384, heads=6, ctx=256, batch=16, steps=4400, warmup=200,
            lr=1e-3, min_lr=5e-5, dropout=0.25, wd=0.1, beta2=0.95, bpe_p=0.1, seed=1, ema=0.998)

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("runs")
ap.add_argument("--budget", type=float, default=450)
ap.add_argument("--device", default="cuda")
ap.add_argument("--k", type=int, default=60, help="BPE-dropout segmentations per (vocab, p)")
a = ap.parse_args()
t0 = time.time()
d = os.path.abspath(a.dir)
here = os.path.dirname(os.path.abspath(__file__))
runs = json.load(open(a.runs))
heldout = os.path.getsize(f"{d}/heldout.txt")
env = dict(os.environ, LD_LIBRARY_PATH=f"{d}/lib")
need = sorted({(r.get("vocab", BASE["vocab"]), r.get("bpe_p", BASE["bpe_p"])) for r in runs})
jobs = [subprocess.Popen([f"{d}/bin/sweep_segments", f"{d}/tok{v}", f"{d}/train.txt", str(p),
                          str(a.k), f"{d}/v{v}_p{int(round(p * 100))}"],
                         stderr=subprocess.DEVNULL, env=env)
        for v, p in need if p > 0 and not os.path.exists(f"{d}/v{v}_p{int(round(p * 100))}.{a.k - 1}.u16")]
if any(j.wait() for j in jobs):
    sys.exit("sweep: sweep_segments failed")
print(f"segmentations ready in {time.time() - t0:.1f} s", flush=True)
os.makedirs(f"{d}/logs", exist_ok=True)
deadline = t0 + a.budget
procs = []
for r in runs:
    c = dict(BASE, dir=d, heldout_bytes=heldout, k=a.k)
    c.update(r)
    procs.append(subprocess.Popen([sys.executable, f"{here}/mirror.py", json.dumps(c),
                                   f"{d}/logs/{c['name']}.log", str(deadline), a.device]))
bad = sum(1 for p in procs if p.wait() != 0)
finals = []
for r in runs:
    for line in open(f"{d}/logs/{r['name']}.log"):
        if line.startswith("FINAL"):
            finals.append((float(line.split()[5]), line.strip()))
for _, line in sorted(finals):
    print(line)
print(f"{len(finals)} runs finished, {bad} failed, {time.time() - t0:.0f} s")
if os.environ.get("OUT"):
    subprocess.run(["tar", "czf", f"{os.environ['OUT']}/logs.tgz", "-C", d, "logs"])
