#!/usr/bin/env bash
# Validates every --json output on every simulated model against schemas/ (Tests/Schemas/validate.py),
# with the built debug vgpuctl. Installs Python's jsonschema when missing (pip, else Debian's
# python3-jsonschema).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=/opt/swift/usr/bin:$PATH
if ! python3 -c 'import jsonschema' 2>/dev/null; then
    if python3 -m pip --version >/dev/null 2>&1; then
        python3 -m pip install -q jsonschema
    else
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq python3-jsonschema >/dev/null
    fi
    python3 -c 'import jsonschema' || { echo "schema test: cannot install Python's jsonschema" >&2; exit 1; }
fi
python3 Tests/Schemas/validate.py "$(swift build --show-bin-path)/vgpuctl"
