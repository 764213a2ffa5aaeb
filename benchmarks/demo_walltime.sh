#!/usr/bin/env bash
# Wall time of the demo on a fresh checkout: setup (venv + pins) and the pipeline, measured separately,
# then a rerun on the unchanged data (issue 15's target: ends "no change" in under 60 s), reported as a ratio
# to the full run. Writes docs/benchmarks/demo_walltime.json.
#   benchmarks/demo_walltime.sh [--keep-venv]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != "--keep-venv" ]; then rm -rf .venv; fi
rm -rf .tunepipe
t0=$(date +%s.%N); make setup >/dev/null; t1=$(date +%s.%N)
.venv/bin/tunepipe run examples/demo.yaml | tee /tmp/tunepipe-demo.log; t2=$(date +%s.%N)
.venv/bin/tunepipe run examples/demo.yaml > /tmp/tunepipe-demo-rerun.log; t3=$(date +%s.%N)
hits=$(grep -cE "^. [a-z-]+ +cached" /tmp/tunepipe-demo-rerun.log || true)
status=$(grep -o "status           no change" /tmp/tunepipe-demo-rerun.log | head -1 | sed 's/status *//' || true)
mkdir -p docs/benchmarks
python3 - "$t0" "$t1" "$t2" "$t3" "$hits" "${status:-trained again}" <<'PY'
import json, os, sys
t0, t1, t2, t3 = map(float, sys.argv[1:5])
out = {"machine": f"{os.cpu_count()} CPUs", "setup_s": round(t1 - t0, 1), "pipeline_s": round(t2 - t1, 1),
       "unchanged_rerun_s": round(t3 - t2, 1), "rerun_to_full_ratio": round((t3 - t2) / (t2 - t1), 3),
       "rerun_status": sys.argv[6], "cache_hits_on_rerun": int(sys.argv[5])}
open("docs/benchmarks/demo_walltime.json", "w").write(json.dumps(out, indent=2))
print(json.dumps(out, indent=2))
PY
