#!/usr/bin/env bash
# The test command of the README: builds the solution and runs every test, on a fresh machine.
# It installs and starts whatever the tests need (Debian's chromium for the dashboard browser test; package lists
# that know the icon themes of the icons dataset; Redis and Azurite on loopback for the cluster-mode tests, through
# services.sh), and ends with a one-line "N passed, N failed" summary.
set -euo pipefail
cd "$(dirname "$0")/../.."

command -v dotnet >/dev/null || { echo "test.sh: the .NET 10 SDK (dotnet) is required" >&2; exit 1; }

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

# The dashboard's browser test drives Debian's Chromium (Playwright cannot download its own browser here).
if [ ! -x /usr/bin/chromium ]; then
  echo "test.sh: installing chromium for the dashboard browser test"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# The icons dataset's test fetches its icon-theme packages with `apt-get download` (no install), which needs
# package lists that know them; a fresh machine may have none.
if ! apt-cache show oxygen-icon-theme faenza-icon-theme mate-icon-theme >/dev/null 2>&1; then
  echo "test.sh: apt-get update, so the icons dataset test can download its packages"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
fi

results=$(mktemp -d)
services=$(mktemp -d -u)
trap 'bash infra/scripts/services.sh down "$services"; rm -rf "$results"' EXIT

# Real Redis and Azurite for the cluster-mode tests, on free loopback ports; the tests read the connection strings
# from TESSERA_TEST_REDIS and TESSERA_TEST_BLOB and fail (never skip) without them.
bash infra/scripts/services.sh up "$services" >/dev/null
source "$services/env"

dotnet build Platform.sln -c Release -nologo -clp:ErrorsOnly
set +e
# --blame: if the test host dies (a native crash), the abort names the test that was running.
# One TRX file per test project (the trx logger names each after its project and time), summed below.
dotnet test Platform.sln -c Release --no-build -nologo --blame --logger trx \
  --results-directory "$results" --logger "console;verbosity=normal"
status=$?
set -e

# One closing line CI can read, from the counters of the TRX result file.
counter() { grep -ho "<Counters [^>]*>" "$results"/*.trx 2>/dev/null | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' | awk '{ n += $1 } END { print n + 0 }'; }
passed=$(counter passed)
failed=$(counter failed)
skipped=$(counter notExecuted)
echo "tests: $passed passed, $failed failed, $skipped skipped"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "test.sh: no test ran" >&2
  exit 1
fi
exit $status
