#!/usr/bin/env bash
# Runs a command as if the OS reported a large L3 cache (default 260 MiB, as the 2-vCPU Intel Xeon build machine
# reports), so that the workstation garbage collector picks the large gen0 budget it picks there. .NET reads the cache
# sizes from /sys/devices/system/cpu/cpu0/cache/index*/; this lays a directory that holds only that L3 over cpu0 in a
# private mount namespace. Needs root (unshare -m). Example:
#   bench/AccessWorkflows.Durable.Benchmarks/with-large-l3.sh env DOTNET_gcServer=0 \
#       bench/AccessWorkflows.Durable.Benchmarks/bin/Release/net10.0/AccessWorkflows.Durable.Benchmarks --only sleepers
set -euo pipefail
size="${L3_SIZE:-266240K}"
fake="$(mktemp -d)"
trap 'rm -rf "$fake"' EXIT
mkdir -p "$fake/cache/index3"
echo 3 > "$fake/cache/index3/level"
echo Unified > "$fake/cache/index3/type"
echo "$size" > "$fake/cache/index3/size"
unshare -m bash -c 'mount --bind "$0" /sys/devices/system/cpu/cpu0 && "$@"' "$fake" "$@"
