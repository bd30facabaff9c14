#!/usr/bin/env bash
# Benchmarks GPOOL.NEXT against plain Redis commands of similar weight.
#
# Starts a redis-server of its own (a free loopback port, a temporary dir, no persistence)
# with the module loaded, fills four pools, and runs redis-benchmark on each row in a few
# rounds, pipelined (-P 16) over 50 connections. INCR is the floor of what a write costs;
# LMOVE of a list onto itself is how a key list is rotated without a module. Prints a
# Markdown table and writes it to target/bench/latest.md.
#
# Environment: BENCH_ROUNDS (how many times each row runs, default 3), BENCH_REQUESTS
# (requests per run, default 1000000), BENCH_LUA_REQUESTS (per FCALL run, default 200000:
# the Lua library is slower), BENCH_SEED (which keys of the 99%-spent and mixed pools stay
# available, default 20240601), MODULE (the module to load), LUA_LIB (the Lua library to
# load, default lua/gpool.lua).
#
# Besides the library, the run loads tests/bench/floor.lua: an empty function (what an
# FCALL costs by itself) and the bare calls a Lua NEXT cannot do without, which bound what
# any Lua NEXT can reach.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

requests=${BENCH_REQUESTS:-1000000}
lua_requests=${BENCH_LUA_REQUESTS:-200000}
rounds=${BENCH_ROUNDS:-3}
seed=${BENCH_SEED:-20240601}
module=${MODULE:-$root/target/release/libgpool.so}
module_opts="timezone America/Los_Angeles debug-clock no"
lua_lib=${LUA_LIB:-lua/gpool.lua}
out=target/bench/latest.md
clients=50
pipeline=16
class=embed

# The pools: name, number of keys, number of keys left available for the class, and how
# the rest are made unavailable, at positions chosen with the seed: `spent` spends them all
# (GPOOL.SPEND); `mixed` disables one in a hundred (GPOOL.REPORT of a 401), puts half of
# the others in a one-hour cooldown (GPOOL.REPORT of a 429 with a retry delay) and spends
# the rest.
pools=(
    "bench-10 10 10 spent"
    "bench-1k 1000 1000 spent"
    "bench-100k 100000 100000 spent"
    "bench-100k-spent 100000 1000 spent"
    "bench-100k-mixed 100000 1000 mixed"
)

# ---- The rows. Each is "label|requests|command"; add a row here and it is benchmarked and
# reported.
rows=(
    "INCR|$requests|INCR gpool:bench:counter"
    "LMOVE, 10-element list onto itself|$requests|LMOVE gpool:bench:list gpool:bench:list LEFT RIGHT"
    "GPOOL.NEXT, 10 keys|$requests|GPOOL.NEXT bench-10 $class"
    "GPOOL.NEXT, 1,000 keys|$requests|GPOOL.NEXT bench-1k $class"
    "GPOOL.NEXT, 100,000 keys|$requests|GPOOL.NEXT bench-100k $class"
    "GPOOL.NEXT, 100,000 keys, 99% spent|$requests|GPOOL.NEXT bench-100k-spent $class"
    "GPOOL.NEXT, 100,000 keys, 99% spent, cooling or disabled|$requests|GPOOL.NEXT bench-100k-mixed $class"
)
# The same pools through the Lua library, when lua/gpool.lua exists.
lua_rows=(
    "FCALL gpool_next, 10 keys|$lua_requests|FCALL gpool_next 1 bench-10 $class"
    "FCALL gpool_next, 1,000 keys|$lua_requests|FCALL gpool_next 1 bench-1k $class"
    "FCALL gpool_next, 100,000 keys|$lua_requests|FCALL gpool_next 1 bench-100k $class"
    "FCALL gpool_next, 100,000 keys, 99% spent|$lua_requests|FCALL gpool_next 1 bench-100k-spent $class"
    "FCALL gpool_next, 100,000 keys, 99% spent, cooling or disabled|$lua_requests|FCALL gpool_next 1 bench-100k-mixed $class"
    "FCALL of an empty function|$lua_requests|FCALL bench_empty 0"
    "FCALL of NEXT's bare calls, 10 members|$lua_requests|FCALL bench_floor 4 gpool:bench:floor:ring gpool:bench:floor:cursor gpool:bench:floor:runs gpool:bench:floor:usage"
)
# ---- End of the rows.

die() {
    echo "bench: error: $*" >&2
    exit 1
}
say() { echo "bench: $*" >&2; }

for tool in redis-server redis-cli redis-benchmark awk; do
    command -v "$tool" >/dev/null || die "$tool not found; run 'make deps'"
done
[ -f "$module" ] || die "$module is missing; run 'make build'"

workdir=$(mktemp -d "${TMPDIR:-/tmp}/gpool-bench.XXXXXX")
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT

port_in_use() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Start the server on a free port, trying a few in case another process takes one first.
port=""
for attempt in 1 2 3 4 5; do
    candidate=$((20000 + RANDOM % 20000))
    port_in_use "$candidate" && continue
    server_cmd=(redis-server --port "$candidate" --bind 127.0.0.1 --dir "$workdir"
        --save "" --appendonly no --daemonize no --logfile "$workdir/redis.log"
        --loadmodule "$module" $module_opts)
    "${server_cmd[@]}" &
    server_pid=$!
    for _ in $(seq 100); do
        if redis-cli -p "$candidate" PING 2>/dev/null | grep -q PONG; then
            port=$candidate
            break
        fi
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$port" ] && break
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
    say "redis-server did not start on port $candidate:"
    grep ' # ' "$workdir/redis.log" | grep -v overcommit | tail -n 3 >&2 || true
done
[ -n "$port" ] || die "could not start redis-server with $module"

cli() { redis-cli -p "$port" "$@"; }
lua_error=""

# Sends RESP from standard input with redis-cli --pipe and fails unless every reply was OK.
pipe_in() {
    local what=$1 result
    result=$(redis-cli -p "$port" --pipe 2>&1) || die "$what: $result"
    echo "$result" | grep -q '^errors: 0, replies: ' || die "$what: $result"
}

# RESP for GPOOL.ADD <pool> with keys bench-key-000001.. in batches of 1,000 keys.
resp_add() {
    awk -v pool="$1" -v n="$2" 'BEGIN {
        for (i = 1; i <= n; i += 1000) {
            m = n - i + 1; if (m > 1000) m = 1000
            printf "*%d\r\n$9\r\nGPOOL.ADD\r\n$%d\r\n%s\r\n", m + 2, length(pool), pool
            for (j = i; j < i + m; j++) {
                k = sprintf("bench-key-%06d", j)
                printf "$%d\r\n%s\r\n", length(k), k
            }
        }
    }'
}

# RESP that makes every key but `keep` of them unavailable for the class, as `mode` says
# (see the pools above). The kept positions come from a Park-Miller generator (exact in awk's
# doubles), so a seed always picks the same keys.
resp_unavailable() {
    awk -v pool="$1" -v n="$2" -v keep="$3" -v seed="$4" -v mode="$5" -v class="$class" \
        -v body="$cooldown_body" 'BEGIN {
        x = seed % 2147483647; if (x <= 0) x = 1
        kept = 0
        while (kept < keep) {
            x = (x * 16807) % 2147483647
            p = x % n + 1
            if (!(p in keepset)) { keepset[p] = 1; kept++ }
        }
        for (j = 1; j <= n; j++) {
            if (j in keepset) continue
            k = sprintf("bench-key-%06d", j)
            head = sprintf("$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", \
                length(pool), pool, length(k), k, length(class), class)
            if (mode == "mixed" && j % 100 == 0)
                printf "*5\r\n$12\r\nGPOOL.REPORT\r\n%s$3\r\n401\r\n", head
            else if (mode == "mixed" && j % 2 == 1)
                printf "*6\r\n$12\r\nGPOOL.REPORT\r\n%s$3\r\n429\r\n$%d\r\n%s\r\n", \
                    head, length(body), body
            else
                printf "*4\r\n$11\r\nGPOOL.SPEND\r\n%s", head
        }
    }'
}

# A per-minute limit's answer with an hour's retry delay, so no key leaves its cooldown
# while the benchmark runs.
cooldown_body='{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"3600s"}]}}'

# How many keys of a pool a sorted set of its layout holds (docs/keys.md); 0 when none.
members() {
    local pool=$1 pattern=$2 name
    name=$(cli --scan --pattern "gpool:{$pool}:$pattern" | head -n 1)
    if [ -n "$name" ]; then cli ZCARD "$name"; else echo 0; fi
}

say "redis-server $(redis-server --version | sed 's/.* v=\([^ ]*\).*/\1/') on port $port"

# Fill the pools and check them through the documented key layout (docs/keys.md).
declare -A pool_counts=()
for spec in "${pools[@]}"; do
    read -r pool size available mode <<<"$spec"
    resp_add "$pool" "$size" | pipe_in "GPOOL.ADD $pool"
    ring=$(cli ZCARD "gpool:{$pool}:ring")
    [ "$ring" = "$size" ] || die "pool $pool has $ring keys in its ring, expected $size"
    spent=0 cooling=0 disabled=0
    if [ "$available" -lt "$size" ]; then
        resp_unavailable "$pool" "$size" "$available" "$seed" "$mode" \
            | pipe_in "GPOOL.SPEND/GPOOL.REPORT $pool"
        spent=$(members "$pool" "spent:$class:*")
        cooling=$(members "$pool" "cooling:$class")
        disabled=$(members "$pool" disabled)
        [ "$((spent + cooling + disabled))" = "$((size - available))" ] \
            || die "pool $pool has $spent keys spent, $cooling cooling and $disabled disabled;" \
                "expected $((size - available)) in all"
        if [ "$mode" = mixed ] && { [ "$cooling" = 0 ] || [ "$disabled" = 0 ]; }; then
            die "pool $pool has no cooling or no disabled keys"
        fi
    fi
    say "pool $pool: $size keys, $available available for class $class" \
        "($spent spent, $cooling cooling, $disabled disabled)"
    pool_counts[$pool]="$spent spent, $cooling cooling, $disabled disabled"
done
cli DEL gpool:bench:counter gpool:bench:list >/dev/null
cli RPUSH gpool:bench:list k01 k02 k03 k04 k05 k06 k07 k08 k09 k10 >/dev/null
cli DEL gpool:bench:floor:ring gpool:bench:floor:cursor gpool:bench:floor:runs \
    gpool:bench:floor:usage >/dev/null
cli ZADD gpool:bench:floor:ring 1 k01 2 k02 3 k03 4 k04 5 k05 6 k06 7 k07 8 k08 9 k09 10 k10 \
    >/dev/null
floor_lib=tests/bench/floor.lua

if [ -f "$lua_lib" ]; then
    loaded=$(cli -x FUNCTION LOAD REPLACE <"$lua_lib" 2>&1)
    if [[ "$loaded" =~ ^[A-Za-z0-9_]+$ ]]; then
        say "loaded Lua library '$loaded' from $lua_lib"
        loaded=$(cli -x FUNCTION LOAD REPLACE <"$floor_lib" 2>&1)
        [[ "$loaded" =~ ^[A-Za-z0-9_]+$ ]] || die "FUNCTION LOAD of $floor_lib failed: $loaded"
        rows+=("${lua_rows[@]}")
    else
        # The module's rows are still worth having; the run fails at the end.
        lua_error="FUNCTION LOAD of $lua_lib failed: $loaded"
        say "error: $lua_error; skipping the FCALL rows"
    fi
else
    say "no $lua_lib: skipping the FCALL rows"
fi

bench_cmd=(redis-benchmark -h 127.0.0.1 -p "$port" -c "$clients" -P "$pipeline" --csv)

# Runs one row and prints its requests per second (a decimal number).
run_row() {
    local label=$1 n=$2 command=$3 probe csv rps
    # One call first, so a command that errors or finds nothing fails here with its reply
    # instead of being timed (redis-benchmark counts error replies as requests).
    # shellcheck disable=SC2086
    probe=$(cli $command 2>&1)
    case "$probe" in
        "" | ERR* | WRONGTYPE* | NOSCRIPT* | *"unknown command"*)
            die "$label: '$command' replied '${probe:-nil}'"
            ;;
    esac
    # shellcheck disable=SC2086
    csv=$("${bench_cmd[@]}" -n "$n" $command 2>&1) || die "$label: redis-benchmark failed: $csv"
    rps=$(echo "$csv" | awk -F'","' '/^"test"/ { next } NF >= 2 { gsub(/"/, "", $2); print $2; exit }')
    [[ "$rps" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "$label: cannot read redis-benchmark's output: $csv"
    echo "$rps"
}

thousands() { printf '%.0f' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

# Other work on the machine takes cores from the server and redis-benchmark (two
# single-threaded processes): the load average before the run is reported with the numbers.
load_before=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo unknown)
started=$(date +%s)
# Rounds run every row once, in turn, so a burst of load elsewhere hits one round of every
# row rather than all runs of one row; each row reports its median.
declare -A runs=()
for round in $(seq "$rounds"); do
    for row in "${rows[@]}"; do
        IFS='|' read -r label n command <<<"$row"
        say "round $round/$rounds, $label: ${bench_cmd[*]} -n $n $command"
        rps=$(run_row "$label" "$n" "$command")
        say "  $(thousands "$rps") ops/s"
        runs[$label]="${runs[$label]:-} $rps"
    done
done
elapsed=$(($(date +%s) - started))

# Median and spread ((max - min) / median, in percent) of a row's runs.
median_of() {
    [ -n "${runs[$1]:-}" ] || return 0
    tr ' ' '\n' <<<"${runs[$1]}" | grep . | sort -g | awk '{ v[NR] = $1 }
        END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
spread_of() {
    tr ' ' '\n' <<<"${runs[$1]}" | grep . | sort -g | awk -v m="$2" '{ v[NR] = $1 }
        END { printf "%.0f%%", 100 * (v[NR] - v[1]) / m }'
}
rps_of() { median_of "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

incr=$(rps_of INCR)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)

mkdir -p "$(dirname "$out")"
{
    echo "## gpool benchmark"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, $(nproc) cores${cpu:+ ($cpu)}," \
        "redis-server $(redis-server --version | sed 's/.* v=\([^ ]*\).*/\1/'), load average" \
        "$load_before before the run, $elapsed s."
    echo
    echo "Each row ran $rounds times, in rounds; ops/s is the median, spread is (max - min) /"
    echo "median."
    echo
    echo "| benchmark | command | requests | ops/s | spread | vs INCR |"
    echo "|---|---|---:|---:|---:|---:|"
    for row in "${rows[@]}"; do
        IFS='|' read -r label n command <<<"$row"
        rps=$(median_of "$label")
        echo "| $label | \`$command\` | $(thousands "$n") | $(thousands "$rps")" \
            "| $(spread_of "$label" "$rps") | $(ratio "$rps" "$incr") |"
    done
    echo
    for engine in "GPOOL.NEXT" "FCALL gpool_next"; do
        small=$(rps_of "$engine, 10 keys")
        spent=$(rps_of "$engine, 100,000 keys, 99% spent")
        mixed=$(rps_of "$engine, 100,000 keys, 99% spent, cooling or disabled")
        if [ -n "$small" ] && [ -n "$spent" ] && [ -n "$mixed" ]; then
            echo "$engine on 100,000 keys with 99% spent runs at $(ratio "$spent" "$small")" \
                "times its speed on 10 keys; with 99% spent, cooling or disabled, at" \
                "$(ratio "$mixed" "$small")."
            echo
        fi
    done
    floor=$(rps_of "FCALL of NEXT's bare calls, 10 members")
    small=$(rps_of "FCALL gpool_next, 10 keys")
    if [ -n "$floor" ] && [ -n "$small" ]; then
        echo "FCALL gpool_next on 10 keys runs at $(ratio "$small" "$floor") times the speed of" \
            "the bare calls it cannot do without (tests/bench/floor.lua), which themselves run" \
            "at $(ratio "$floor" "$incr") times INCR."
        echo
    fi
    if [ -n "$lua_error" ]; then
        echo "No FCALL rows: $lua_error"
        echo
    fi
    echo "Server and client, one client run per row and round:"
    echo
    echo '```'
    printf '%q ' "${server_cmd[@]}" | sed "s|$root/||g; s/ $//"
    echo
    echo "${bench_cmd[*]} -n <requests> <command>"
    echo '```'
    echo
    echo "Pools: bench-10, bench-1k and bench-100k hold that many keys; bench-100k-spent holds"
    echo "100,000 keys of which all but 1,000 (chosen with seed $seed) are spent for class $class"
    echo "(${pool_counts[bench-100k-spent]}); bench-100k-mixed holds 100,000 keys of which the"
    echo "same 1,000 are available and the rest spent, cooling for an hour, or disabled"
    echo "(${pool_counts[bench-100k-mixed]})."
} >"$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
say "wrote $out"
[ -z "$lua_error" ] || die "$lua_error"
