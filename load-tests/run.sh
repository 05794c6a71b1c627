#!/usr/bin/env bash
# One command: builds the release binary, generates the corpus, starts redis-server (one server
# and a 3-master Cluster) and the gateway (one instance, one worker, two instances), drives
# every scenario with wrk (Debian package), measures server CPU per request
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
for pkg in wrk redis-server redis-cli gnuplot; do
  if ! need "$pkg"; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk redis-server redis-tools gnuplot-nox >/dev/null
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
  env DCCGW_LOG=warn DCCGW_WORKERS=2 DCCGW_DATA_DIR="$OUT/$name/data" "$@" \
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

wait_redis() { for _ in $(seq 1 100); do curl -fsS "$GW_URL/readyz" | grep -q '"redis":"connected"' && return 0; sleep 0.05; done; echo "no redis" >&2; return 1; }

# Redis off / standalone / Cluster, side by side, with the cache off (every request verifies
# and is admitted by the leased quota). Off runs again last so drift shows.
start_gateway redis DCCGW_TRUST_DIR="$C/trust" DCCGW_CACHE_CAPACITY=0 REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
wait_redis
scenario f_miss_es256_redis_on 64 verify.lua "$C/valid-es256.txt"
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true

# A 3-master Redis Cluster on loopback.
CLUSTER_DIR="$OUT/cluster"; mkdir -p "$CLUSTER_DIR"; SEEDS=()
for _ in 1 2 3; do
  p="$(free_port)"
  redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --cluster-enabled yes \
    --cluster-config-file "$CLUSTER_DIR/nodes-$p.conf" --dir "$CLUSTER_DIR" >/dev/null 2>&1 &
  PIDS+=("$!"); SEEDS+=("127.0.0.1:$p")
done
for s in "${SEEDS[@]}"; do until redis-cli -p "${s#*:}" ping >/dev/null 2>&1; do sleep 0.05; done; done
redis-cli --cluster create "${SEEDS[@]}" --cluster-replicas 0 --cluster-yes >/dev/null
until redis-cli -p "${SEEDS[0]#*:}" cluster info | grep -q 'cluster_state:ok'; do sleep 0.1; done
CLUSTER_URL="redis+cluster://$(IFS=,; echo "${SEEDS[*]}")"
start_gateway cluster DCCGW_TRUST_DIR="$C/trust" DCCGW_CACHE_CAPACITY=0 REDIS_URL="$CLUSTER_URL"
wait_redis
scenario f_miss_es256_redis_cluster 64 verify.lua "$C/valid-es256.txt"
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true

start_gateway nocache_again DCCGW_TRUST_DIR="$C/trust" DCCGW_CACHE_CAPACITY=0
scenario f_miss_es256_redis_off_again 64 verify.lua "$C/valid-es256.txt"
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true

# One worker vs two (the scaling ratio; the load generator shares the two cores).
start_gateway oneworker DCCGW_TRUST_DIR="$C/trust" DCCGW_CACHE_CAPACITY=0 DCCGW_WORKERS=1
scenario h_miss_es256_one_worker 64 verify.lua "$C/valid-es256.txt"
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true

# Two instances (one worker each) sharing the standalone Redis, driven by one client that
# balances over their two ports (one wrk thread per port, run together); CPU is both servers'.
start_gateway pair_a DCCGW_TRUST_DIR="$C/trust" DCCGW_CACHE_CAPACITY=0 DCCGW_WORKERS=1 REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
wait_redis; A_PID="$GW_PID"; A_URL="$GW_URL"
start_gateway pair_b DCCGW_TRUST_DIR="$C/trust" DCCGW_CACHE_CAPACITY=0 DCCGW_WORKERS=1 REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
wait_redis; B_PID="$GW_PID"; B_URL="$GW_URL"
a0="$(cpu_ticks "$A_PID")"; b0="$(cpu_ticks "$B_PID")"
SCENARIO=i_two_instances wrk -t1 -c32 -d"${DURATION}s" --timeout 5s -s "$ROOT/load-tests/wrk/verify.lua" "$A_URL/" -- i_two_instances "$C/valid-es256.txt" > "$OUT/pair_a.out" &
WA=$!
SCENARIO=i_two_instances wrk -t1 -c32 -d"${DURATION}s" --timeout 5s -s "$ROOT/load-tests/wrk/verify.lua" "$B_URL/" -- i_two_instances "$C/valid-es256.txt" > "$OUT/pair_b.out" &
WB=$!
wait "$WA" "$WB"
a1="$(cpu_ticks "$A_PID")"; b1="$(cpu_ticks "$B_PID")"
python3 - "$(grep '^{"scenario"' "$OUT/pair_a.out")" "$(grep '^{"scenario"' "$OUT/pair_b.out")" \
  "$((a1 - a0 + b1 - b0))" "$CLK_TCK" "$(rss_kb "$A_PID" VmHWM)" >> "$RESULTS" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ticks, tck, hwm = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
r = dict(a)
for k in ("requests", "rps", "errors_status", "errors_socket"):
    r[k] = a[k] + b[k]
for k in ("p50_us", "p95_us", "p99_us"):
    r[k] = max(a[k], b[k])
r["connections"] = 64
r["server_cpu_s"] = ticks / tck
r["cpu_us_per_request"] = 1e6 * r["server_cpu_s"] / max(r["requests"], 1)
r["peak_rss_mb"] = hwm / 1024
print(json.dumps(r))
PY
tail -1 "$RESULTS"
kill "$A_PID" "$B_PID"; wait "$A_PID" "$B_PID" 2>/dev/null || true

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
