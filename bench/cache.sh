#!/bin/sh
# cache.sh: BenchmarkVerifiedTokenCache in interleaved runs, summarised by
# benchstat, and per algorithm, round by round and as medians: the cached
# hit with sessions, uncached ÷ hit, what a miss adds to an uncached
# verification, and the parallel hit ÷ the serial one, as BENCHMARKS.md's
# "Verified-token cache" reports them.
#
#   bench/cache.sh [runs]        (default 10; from anywhere in the repository)
#   BENCHTIME=500ms bench/cache.sh 10   (each benchmark's -test.benchtime; default 1s)
#
# As bench/keys.sh does: the test binary is built once and run once per
# round, so that every variant of every algorithm is measured in every
# round. Raw output is kept in bench/out/cache.txt (ignored by git).
set -eu
runs=${1:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/bench/out"
mkdir -p "$out"
bin="$out/verify.test"
(cd "$root" && go test -c -o "$bin" ./bench/verify)
: >"$out/cache.txt"
i=1
while [ "$i" -le "$runs" ]; do
	echo "round $i of $runs" >&2
	"$bin" -test.run '^$' -test.bench '^BenchmarkVerifiedTokenCache$' -test.benchtime "${BENCHTIME:-1s}" -test.benchmem >>"$out/cache.txt"
	i=$((i + 1))
done
benchstat=benchstat
if ! command -v benchstat >/dev/null; then
	benchstat="go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da"
fi
$benchstat "$out/cache.txt"
# Per round (each binary's output ends with PASS), per algorithm: hit =
# Authenticate-sessions/hit (ns); uncached/hit = Authenticate-sessions's
# uncached ÷ hit; miss-added = Authenticate-2048/miss − its uncached (ns);
# parallel/serial = Authenticate-sessions/hit-parallel ÷ hit (0.5 on two
# cores when the goroutines do not wait for one another).
awk '
	$1 ~ /^BenchmarkVerifiedTokenCache\// {
		n = $1; sub(/^BenchmarkVerifiedTokenCache\//, "", n); sub(/-[0-9]+$/, "", n)
		split(n, p, "/"); alg = p[1]; algs[alg] = 1
		v[substr(n, length(alg) + 2), alg] = $3
	}
	/^PASS/ {
		for (a in algs) {
			h = v["Authenticate-sessions/hit", a]
			printf "%s hit %.1f\n", a, h
			printf "%s uncached/hit %.1f\n", a, v["Authenticate-sessions/uncached", a] / h
			printf "%s miss-added %.1f\n", a, v["Authenticate-2048/miss", a] - v["Authenticate-2048/uncached", a]
			printf "%s parallel/serial %.3f\n", a, v["Authenticate-sessions/hit-parallel", a] / h
			printf "%s parallel-64/serial %.3f\n", a, v["Authenticate-sessions/hit-parallel-64", a] / h
		}
		delete v; delete algs
	}' "$out/cache.txt" | sort -k1,1 -k2,2 -k3,3g |
	awk '
		function flush() {
			if (n == 0) return
			printf "%s %s, per round: %s median %s\n", key1, key2, list, (n % 2 ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2)
		}
		$1 != key1 || $2 != key2 { flush(); key1 = $1; key2 = $2; n = 0; list = "" }
		{ r[++n] = $3; list = list $3 " " }
		END { flush() }'
