#!/usr/bin/env bash
# load-tests/quota-ratio.sh — focused measurement: server CPU per cache-miss ES256 verify, Redis off vs Redis on (leased
# quotas), same binary, one run. Uses load-tests/run.sh's scenario mechanics.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"; DURATION="${DURATION:-8}"; OUT="$ROOT/target/quota-ratio"; RESULTS=$OUT/results.jsonl
cargo build --release --quiet --bin dcc-gateway --example corpus
rm -rf $OUT; mkdir -p $OUT
BIN=$ROOT/target/release/dcc-gateway
$ROOT/target/release/examples/corpus $OUT/corpus 4000 10000 >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
CLK_TCK="$(getconf CLK_TCK)"
REDIS_PORT="$(free_port)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 &
PIDS=($!)
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
start_gateway() {
  local name="$1"; shift; local port; port="$(free_port)"; mkdir -p "$OUT/$name"
  env "$@" DCCGW_LOG=warn DCCGW_WORKERS=2 DCCGW_DATA_DIR="$OUT/$name/data" \
    "$BIN" serve --config "$ROOT/load-tests/gateway.toml" --bind "127.0.0.1:$port" > "$OUT/$name/server.log" 2>&1 &
  GW_PID=$!; PIDS+=("$GW_PID"); GW_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 300); do curl -fsS "$GW_URL/readyz" >/dev/null 2>&1 && return 0; sleep 0.05; done
  return 1
}
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
scenario() {
  local name="$1"; local before; before="$(cpu "$GW_PID")"
  local line; line="$(wrk -t2 -c64 -d"${DURATION}s" --timeout 5s -s "$ROOT/load-tests/wrk/verify.lua" "$GW_URL/" -- "$name" "$OUT/corpus/valid-es256.txt" | grep '^{"scenario"')"
  local after; after="$(cpu "$GW_PID")"
  python3 -c "import json,sys; r=json.loads(sys.argv[1]); cpu=(int(sys.argv[3])-int(sys.argv[2]))/int(sys.argv[4]); print(json.dumps({'scenario':sys.argv[5],'rps':round(r['requests']/r.get('duration_s', $DURATION),0),'requests':r['requests'],'cpu_us_per_request':round(1e6*cpu/max(r['requests'],1),1),'non2xx':r.get('non2xx',0)}))" "$line" "$before" "$after" "$CLK_TCK" "$name" | tee -a $RESULTS
}
C=$OUT/corpus
start_gateway off DCCGW_TRUST_DIR="$C/trust" DCCGW_CACHE_CAPACITY=0
scenario miss_es256_redis_off; kill $GW_PID; wait $GW_PID 2>/dev/null || true
start_gateway on DCCGW_TRUST_DIR="$C/trust" DCCGW_CACHE_CAPACITY=0 REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
for _ in $(seq 1 100); do curl -fsS "$GW_URL/readyz" | grep -q '"redis":"connected"' && break; sleep 0.05; done
scenario miss_es256_redis_on_leased; kill $GW_PID; wait $GW_PID 2>/dev/null || true
start_gateway off2 DCCGW_TRUST_DIR="$C/trust" DCCGW_CACHE_CAPACITY=0
scenario miss_es256_redis_off_again; kill $GW_PID; wait $GW_PID 2>/dev/null || true
