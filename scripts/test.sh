#!/usr/bin/env bash
# The test command of README.md (`npm test`): every test, nothing skipped
# silently. The end-to-end tests need Debian's Prometheus and node_exporter;
# run as root this installs them, otherwise it names the apt-get line and fails.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(prometheus prometheus-node-exporter prometheus-alertmanager)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing missing Debian packages: ${missing[*]}" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  elif [ "${STRATUS_ALLOW_SKIP:-}" = 1 ]; then
    echo "WARNING: ${missing[*]} missing; end-to-end tests will be SKIPPED (STRATUS_ALLOW_SKIP=1)" >&2
  else
    echo "missing Debian packages for the end-to-end tests; run as root:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    echo "(or set STRATUS_ALLOW_SKIP=1 to run without them, skipping those tests)" >&2
    exit 1
  fi
fi

export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
# Node 20 has no test glob (a bare ** silently skips files): list them.
mapfile -t files < <(find test -name '*.test.ts' | sort)
exec node --import tsx --test --test-timeout=300000 "${files[@]}" "$@"
