#!/usr/bin/env bash
# Profiles behind the missed figures of BENCHMARKS.md. Each step runs a Go
# benchmark of this package (or of memstore) with a profile and writes the
# `go tool pprof -top` text next to it, in $OUT (default /tmp/regioncache-prof).
#
#   internal/benchmarks/profile.sh            # all
#   internal/benchmarks/profile.sh load write # some: load write regions memory readload mvcc get
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/regioncache-prof}
mkdir -p "$OUT"
go test -c -o "$OUT/bench.test" ./internal/benchmarks
go test -c -o "$OUT/memstore.test" ./internal/memstore
B="$OUT/bench.test"
top() { # profile, extra pprof flags...
	local prof=$1
	shift
	go tool pprof -top "$@" "$B" "$prof" 2>/dev/null | sed -E 's/\[go\.shape\.[^{]*\{[^}]*\}\]/[T]/g; s/\[go\.shape\.[^]]*\]/[T]/g'
}
steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(load write regions memory readload mvcc get)
for s in "${steps[@]}"; do
	case $s in
	load)
		"$B" -test.run '^$' -test.bench 'LoadVsScan' -test.benchtime 10x -test.cpuprofile "$OUT/load.cpu" | tee "$OUT/load.bench"
		# The loader's goroutine (Pebble iteration, copy into batches) and the
		# building goroutine it owns (decode, RunBuilder.Add), apart.
		top "$OUT/load.cpu" -cum -focus 'loaderactor\.\(\*loader\)\.copy' -nodecount 30 >"$OUT/load.top.txt"
		top "$OUT/load.cpu" -cum -focus 'loadpipe\.\(\*copier\)\.build' -nodecount 20 >"$OUT/load.build.txt"
		top "$OUT/load.cpu" -focus 'memstore\.\(\*RunBuilder\)\.Add' -cum -nodecount 20 >"$OUT/load.builder.txt"
		"$OUT/memstore.test" -test.run '^$' -test.bench 'RunBuild' -test.benchtime 20x -test.cpuprofile "$OUT/builderload.cpu" | tee -a "$OUT/load.bench"
		go tool pprof -top -cum -focus 'RunBuilder' -nodecount 20 "$OUT/memstore.test" "$OUT/builderload.cpu" 2>/dev/null |
			sed -E 's/\[go\.shape\.[^{]*\{[^}]*\}\]/[T]/g; s/\[go\.shape\.[^]]*\]/[T]/g' >"$OUT/load.memstore.txt"
		;;
	write)
		"$B" -test.run '^$' -test.bench 'Write/active' -test.benchtime 3000x -test.cpuprofile "$OUT/write.cpu" | tee "$OUT/write.bench"
		top "$OUT/write.cpu" -cum -focus 'dataplane\.\(\*Plane\)\.Write' -nodecount 30 >"$OUT/write.top.txt"
		;;
	regions)
		"$B" -test.run '^$' -test.bench 'Regions' -test.benchtime 30000x -test.cpuprofile "$OUT/regions.cpu" \
			-regionsheap "$OUT/regions.heap" | tee "$OUT/regions.bench"
		top "$OUT/regions.cpu" -cum -nodecount 30 >"$OUT/regions.top.txt"
		top "$OUT/regions.heap" -sample_index=inuse_space -nodecount 25 >"$OUT/regions.heap.txt"
		;;
	memory)
		"$OUT/memstore.test" -test.run '^$' -test.bench 'RunOverhead|RunBuild' -test.benchtime 2x | tee "$OUT/memory.bench"
		"$B" -test.run '^$' -test.bench 'MemoryAmplification' -test.benchtime 3x -test.memprofile "$OUT/memory.alloc" | tee -a "$OUT/memory.bench"
		top "$OUT/memory.alloc" -sample_index=alloc_space -focus 'loaderactor\.\(\*loader\)\.copy' -nodecount 10 >"$OUT/memory.top.txt"
		;;
	readload)
		"$B" -test.run '^$' -test.bench 'ReadDuringLoad' -test.benchtime 2000000x -test.trace "$OUT/readload.trace" | tee "$OUT/readload.bench"
		go tool trace -pprof=sched "$OUT/readload.trace" >"$OUT/readload.sched.pprof"
		go tool pprof -top -focus 'Engine\)\.Get' -nodecount 25 "$OUT/readload.sched.pprof" 2>/dev/null >"$OUT/readload.sched.txt"
		;;
	mvcc)
		"$B" -test.run '^$' -test.bench 'MVCCScan/cached' -test.benchtime 3s -test.cpuprofile "$OUT/mvcc.cpu" | tee "$OUT/mvcc.bench"
		top "$OUT/mvcc.cpu" -cum -focus 'dataplane\.\(\*Plane\)\.Scan' -nodecount 25 >"$OUT/mvcc.top.txt"
		;;
	get)
		"$B" -test.run '^$' -test.bench 'Get/cached' -test.benchtime 3s -test.cpuprofile "$OUT/get.cpu" | tee "$OUT/get.bench"
		top "$OUT/get.cpu" -cum -focus 'dataplane\.\(\*Plane\)\.Get' -nodecount 25 >"$OUT/get.top.txt"
		;;
	*)
		echo "unknown step $s" >&2
		exit 2
		;;
	esac
done
echo "profiles and top lists in $OUT"
