#!/bin/sh
# peers.sh: BenchmarkPeers and BenchmarkJWTGuardRefusal in interleaved runs,
# summarised by benchstat, as BENCHMARKS.md reports them.
#
#   bench/peers.sh [runs]        (default 6; from anywhere in the repository)
#
# The test binary is built once and run once per round, so that every
# variant, the crypto floor among them, is measured in every round: on a
# noisy machine a slow spell then falls on all of them alike, and the
# ratios of the medians hold better than the absolute times. Raw output is
# kept in bench/out/ (ignored by git).
set -eu
runs=${1:-6}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/bench/out"
mkdir -p "$out"
bin="$out/verify.test"
(cd "$root" && go test -c -o "$bin" ./bench/verify)
: >"$out/peers.txt"
: >"$out/refusals.txt"
i=1
while [ "$i" -le "$runs" ]; do
	echo "round $i of $runs" >&2
	"$bin" -test.run '^$' -test.bench '^BenchmarkPeers$' -test.benchmem >>"$out/peers.txt"
	"$bin" -test.run '^$' -test.bench '^BenchmarkJWTGuardRefusal$' -test.benchmem >>"$out/refusals.txt"
	i=$((i + 1))
done
benchstat=benchstat
if ! command -v benchstat >/dev/null; then
	benchstat="go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da"
fi
$benchstat "$out/peers.txt"
$benchstat "$out/refusals.txt"
# The ratio the speed issue's first target is about: jwtguard over the
# crypto floor, round by round, and its median.
awk '/^BenchmarkPeers\/jwtguard-/ {j=$3} /^BenchmarkPeers\/crypto-floor-/ {print j/$3}' "$out/peers.txt" |
	sort -n | awk '{r[NR]=$1} END {printf "jwtguard / crypto floor, per round: "; for (i=1;i<=NR;i++) printf "%.2f ", r[i]; printf "\nmedian: %.2f\n", (NR%2 ? r[(NR+1)/2] : (r[NR/2]+r[NR/2+1])/2)}'
