#!/bin/sh
# keys.sh: BenchmarkAsymmetricPeers in interleaved runs, summarised by
# benchstat, and jwtguard ÷ crypto floor per algorithm, as BENCHMARKS.md's
# "Asymmetric algorithms" reports them.
#
#   bench/keys.sh [runs]         (default 10; from anywhere in the repository)
#
# As bench/peers.sh does for HS256: the test binary is built once and run
# once per round, so that every variant of every algorithm, the crypto
# floor among them, is measured in every round. Raw output is kept in
# bench/out/keys.txt (ignored by git). Issue 16's target (at most 1.10
# times the floor) is measured by bench/cmd/floorratio, which interleaves
# the floor and jwtguard more closely, within one process:
#
#   go run ./bench/cmd/floorratio -rounds 12 -o bench/out/floor.txt
set -eu
runs=${1:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/bench/out"
mkdir -p "$out"
bin="$out/verify.test"
(cd "$root" && go test -c -o "$bin" ./bench/verify)
: >"$out/keys.txt"
i=1
while [ "$i" -le "$runs" ]; do
	echo "round $i of $runs" >&2
	"$bin" -test.run '^$' -test.bench '^BenchmarkAsymmetricPeers$' -test.benchmem >>"$out/keys.txt"
	i=$((i + 1))
done
benchstat=benchstat
if ! command -v benchstat >/dev/null; then
	benchstat="go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da"
fi
$benchstat "$out/keys.txt"
# jwtguard (Verify, the middleware) over the crypto floor, round by round,
# and its median, per algorithm.
for alg in RS256 PS256 ES256 EdDSA; do
	awk -v alg="$alg" '
		$1 ~ "^BenchmarkAsymmetricPeers/" alg "/jwtguard-" {j=$3}
		$1 ~ "^BenchmarkAsymmetricPeers/" alg "/crypto-floor-" {print j/$3}' "$out/keys.txt" |
		sort -n | awk -v alg="$alg" '{r[NR]=$1} END {printf "%s jwtguard / crypto floor, per round: ", alg; for (i=1;i<=NR;i++) printf "%.3f ", r[i]; printf "median %.3f\n", (NR%2 ? r[(NR+1)/2] : (r[NR/2]+r[NR/2+1])/2)}'
done
