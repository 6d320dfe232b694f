#!/usr/bin/env bash
# Runs every test of the repository on a fresh machine: installs what the tests need (Azurite from npm, when a
# test project needs it; Debian's chromium for the browser tests), builds each test project, runs them one after
# another (2 cores: parallel runs only fight), and ends with one line "N passed, N failed[, N skipped]" summed over
# all test projects. Exits non-zero when anything failed to build or any test failed. The Functions project and
# its fidelity tests are never built here (SPEC 3).
set -uo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if [ -f package.json ] && [ ! -x node_modules/.bin/azurite ]; then
  echo "== installing test tools from npm (package.json)"
  npm ci --no-audit --no-fund --loglevel=error || { echo "npm ci failed"; echo "0 passed, 1 failed"; exit 1; }
fi

# The page's browser tests drive Debian's chromium (Playwright's driver ships inside its NuGet package; no browser is
# ever downloaded). CI runs as root with apt reachable.
if [ -d tests/AccessWorkflows.Browser.Tests ] && [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium from apt (browser tests)"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  if ! { $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null; }; then
    echo "apt-get install chromium failed"; echo "0 passed, 1 failed"; exit 1
  fi
fi

# tests/AccessWorkflows.Functions.Tests is left out: its packages (the Functions worker, Microsoft.DurableTask.*) are not on
# this registry, so it cannot restore here. ../shared/tools/functions-check/run builds and runs it (README, Azure Functions).
mapfile -t projects < <(find tests -mindepth 2 -maxdepth 2 -name '*.Tests.csproj' ! -name 'AccessWorkflows.Functions.Tests.csproj' | sort)
passed=0; failed=0; skipped=0; broken=0
results=$(mktemp -d)

# All test projects in one build first (a solution filter of AccessWorkflows.sln: MSBuild builds the shared projects
# once and in parallel, about a minute less than one build per project). Only when that fails is each project built on
# its own below, so that one that does not build still leaves the others' results.
{
  printf '{"solution":{"path":"%s","projects":[' "$PWD/AccessWorkflows.sln"
  sep=""; for project in "${projects[@]}"; do printf '%s"%s"' "$sep" "$project"; sep=","; done
  printf ']}}\n'
} >"$results/tests.slnf"
echo "== building ${#projects[@]} test projects"
all_built=0
dotnet build "$results/tests.slnf" -c Release --nologo -v quiet -clp:ErrorsOnly >"$results/build.log" 2>&1 && all_built=1

for project in "${projects[@]}"; do
  name=$(basename "$project" .csproj)
  echo "== $name"
  log="$results/$name.log"
  if [ "$all_built" -eq 0 ] && ! dotnet build "$project" -c Release --nologo -v quiet -clp:ErrorsOnly >"$log.build" 2>&1; then
    cat "$log.build"
    echo "!! $name does not build"
    broken=$((broken + 1))
    continue
  fi
  # minimal console verbosity: a failed test prints its message and stack trace, a passing one prints nothing.
  dotnet test "$project" -c Release --no-build --nologo -v quiet --logger "console;verbosity=minimal" 2>&1 | tee "$log"
  summary=$(grep -E "^(Passed|Failed)!" "$log" | tail -1)
  if [ -z "$summary" ]; then
    echo "!! $name ran no tests or crashed"
    broken=$((broken + 1))
    continue
  fi
  p=$(sed -E 's/.*Passed: *([0-9]+).*/\1/' <<<"$summary")
  f=$(sed -E 's/.*Failed: *([0-9]+).*/\1/' <<<"$summary")
  s=$(sed -E 's/.*Skipped: *([0-9]+).*/\1/' <<<"$summary")
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
done

rm -rf "$results"
failed=$((failed + broken))
line="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo
echo "$line"
[ "$failed" -eq 0 ] && [ "$skipped" -eq 0 ]
