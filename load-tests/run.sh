#!/usr/bin/env bash
# One command: builds the release binary, generates the corpus, starts redis-server and the
# gateway, drives every scenario with wrk (Debian package), measures server CPU per request
# from /proc of the server process and peak RSS, and regenerates load-tests/RESULTS.md and
# load-tests/throughput.png.
#   load-tests/run.sh            # DURATION=5 CONNS="16 64" by default
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
DURATION="${DURATION:-5}"
CONNS="${CONNS:-16 64}"
OUT="$ROOT/target/loadtest"
RESULTS="$OUT/results.jsonl"
need() { command -v "$1" >/dev/null 2>&1; }
for pkg in wrk redis-server gnuplot; do
  if ! need "$pkg"; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk redis-server gnuplot-nox >/dev/null
    break
  fi
done

cargo build --release --quiet --bin dcc-gateway --example corpus
BIN="$ROOT/target/release/dcc-gateway"
rm -rf "$OUT" && mkdir -p "$OUT"
"$ROOT/target/release/examples/corpus" "$OUT/corpus" 4000 10000
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
CLK_TCK="$(getconf CLK_TCK)"

REDIS_PORT="$(free_port)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 &
REDIS_PID=$!
PIDS=("$REDIS_PID")
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# start_gateway NAME [ENV=VALUE...] -> sets GW_PID, GW_URL
start_gateway() {
  local name="$1"; shift
  local port; port="$(free_port)"
  mkdir -p "$OUT/$name"
  env "$@" DCCGW_LOG=warn DCCGW_WORKERS=2 DCCGW_DATA_DIR="$OUT/$name/data" \
    "$BIN" serve --config "$ROOT/load-tests/gateway.toml" --bind "127.0.0.1:$port" > "$OUT/$name/server.log" 2>&1 &
  GW_PID=$!
  PIDS+=("$GW_PID")
  GW_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 300); do curl -fsS "$GW_URL/readyz" >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "gateway $name did not become ready" >&2; cat "$OUT/$name/server.log" >&2; return 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }

# scenario NAME CONNS SCRIPT [ARGS...] (uses GW_PID / GW_URL)
scenario() {
  local name="$1" conns="$2" script="$3"; shift 3
  local path="/"
  [ "$script" = healthz.lua ] && path="/healthz"
  local before; before="$(cpu_ticks "$GW_PID")"
  local line
  line="$(SCENARIO="$name" wrk -t2 -c"$conns" -d"${DURATION}s" --timeout 5s -s "$ROOT/load-tests/wrk/$script" "$GW_URL$path" -- "$name" "$@" | grep '^{"scenario"')"
  local after; after="$(cpu_ticks "$GW_PID")"
  local hwm; hwm="$(rss_kb "$GW_PID" VmHWM)"
  python3 - "$line" "$conns" "$before" "$after" "$CLK_TCK" "$hwm" >> "$RESULTS" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
conns, before, after, tck, hwm = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
r["connections"] = conns
r["server_cpu_s"] = (after - before) / tck
r["cpu_us_per_request"] = 1e6 * r["server_cpu_s"] / max(r["requests"], 1)
r["peak_rss_mb"] = hwm / 1024
print(json.dumps(r))
PY
  tail -1 "$RESULTS"
}

C="$OUT/corpus"
start_gateway nocache DCCGW_TRUST_DIR="$C/trust" DCCGW_CACHE_CAPACITY=0
for c in $CONNS; do
  scenario a_http_ceiling "$c" healthz.lua
  scenario b_miss_es256 "$c" verify.lua "$C/valid-es256.txt"
  scenario b_miss_ps256 "$c" verify.lua "$C/valid-ps256.txt"
  scenario d_batch50 "$c" batch.lua "$C/valid.txt"
done
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true

start_gateway cached DCCGW_TRUST_DIR="$C/trust"
for c in $CONNS; do
  scenario c_hit_hotset "$c" verify.lua "$C/valid.txt" 20
  scenario e_mixed "$c" mixed.lua "$C/valid.txt" "$C/invalid.txt"
done
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true

start_gateway redis DCCGW_TRUST_DIR="$C/trust" DCCGW_CACHE_CAPACITY=0 REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
for _ in $(seq 1 100); do curl -fsS "$GW_URL/readyz" | grep -q '"redis":"connected"' && break; sleep 0.05; done
scenario f_miss_es256_redis_on 64 verify.lua "$C/valid-es256.txt"
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true

# Trust scale: 10 000 extra DSCs; ingest time (spawn to ready) and RSS; then a full cache.
T0="$(date +%s.%N)"
start_gateway scale DCCGW_TRUST_DIR="$C/trust-scale"
T1="$(date +%s.%N)"
DSCS="$(curl -fsS "$GW_URL/readyz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["dscs"])')"
RSS_START="$(rss_kb "$GW_PID" VmRSS)"
scenario g_cache_fill 64 fill.lua
ENTRIES="$(curl -fsS "$GW_URL/metrics" | awk '$1 == "dccgw_cache_entries" {print $2}')"
python3 - "$T0" "$T1" "$DSCS" "$RSS_START" "$(rss_kb "$GW_PID" VmRSS)" "$(rss_kb "$GW_PID" VmHWM)" "$ENTRIES" >> "$RESULTS" <<'PY'
import json, sys
t0, t1 = float(sys.argv[1]), float(sys.argv[2])
print(json.dumps({"scenario": "trust_scale", "dscs": int(sys.argv[3]), "ingest_to_ready_s": t1 - t0,
                  "rss_after_ingest_mb": int(sys.argv[4]) / 1024, "rss_full_cache_mb": int(sys.argv[5]) / 1024,
                  "peak_rss_mb": int(sys.argv[6]) / 1024, "cache_entries": int(float(sys.argv[7]))}))
PY
tail -1 "$RESULTS"

python3 "$ROOT/load-tests/report.py" "$RESULTS" "$ROOT/load-tests"
echo "load-tests/RESULTS.md and load-tests/throughput.png regenerated"
