# Sourced by scripts/demo and scripts/test: installs what this project needs on Debian with
# Python 3.11, then the locked Python packages into .venv. Safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

need_debian() {
  local missing=()
  for spec in "$@"; do
    local cmd="${spec%%:*}" pkg="${spec##*:}"
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "Installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

need_debian python3:python3 "${@:-}"

PY=""
for candidate in python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    PY="$(command -v "$candidate")"; break
  fi
done
if [ -z "$PY" ]; then echo "Python 3.11 or newer is needed." >&2; exit 1; fi

if ! command -v uv >/dev/null 2>&1 && [ ! -x "$HOME/.local/bin/uv" ]; then
  echo "Installing uv (the lock-file installer) from PyPI"
  "$PY" -m pip install --user --quiet uv 2>/dev/null ||
    "$PY" -m pip install --user --quiet --break-system-packages uv
fi
export PATH="$HOME/.local/bin:$PATH"
export UV_PYTHON_DOWNLOADS=never
# Bytecode compiled once here, for the packages and the server's own code: a server started
# where Python may not write it (PYTHONDONTWRITEBYTECODE, a read-only folder) does not compile
# its imports again at every start.
uv sync --frozen --python "$PY" --quiet --compile-bytecode
uv run --frozen python -m compileall -q server
