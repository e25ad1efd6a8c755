#!/usr/bin/env bash
# GridGIS set-up and entry point for a fresh Debian 12 machine.
#
#   ./run.sh app     install what is missing, then run the command centre on the demo city
#   ./run.sh test    install what is missing (and the test browser), then run every check
#   ./run.sh setup   install only
#
# Idempotent: a second run finds everything in place and starts in seconds.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

APP_APT=(postgresql-15-postgis-3 postgresql-client-15 python3 python3-venv python3-dev nodejs npm)
TEST_APT=(chromium fonts-noto-cjk gdal-bin)
UV_VERSION=0.13.9
VENV=.venv
STAMP_DIR=.gridgis/stamps

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing_apt() {
  local pkg
  for pkg in "$@"; do
    # Tools already on PATH from elsewhere (pyenv python, nodesource node) count as present.
    case "$pkg" in
      python3|python3-venv|python3-dev) python3 -c 'import sys, venv, ensurepip; assert sys.version_info[:2] == (3, 11)' 2>/dev/null && continue ;;
      nodejs|npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || echo "$pkg"
  done
}

install_apt() {
  local missing
  missing=$(missing_apt "$@")
  [ -z "$missing" ] && return 0
  say "installing system packages: $(echo $missing)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  # shellcheck disable=SC2086
  as_root apt-get install -y -qq --no-install-recommends $missing
}

python311() {
  local candidate
  for candidate in python3.11 python3 /usr/bin/python3.11 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys, venv, ensurepip; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  echo "Python 3.11 with venv is required (Debian 12: apt-get install python3 python3-venv)" >&2
  return 1
}

stamp_ok() {  # stamp_ok NAME FILES... : true if FILES are unchanged since the last install
  local want
  want=$(cat "${@:2}" | sha256sum | cut -d' ' -f1)
  [ -f "$STAMP_DIR/$1" ] && [ "$(cat "$STAMP_DIR/$1")" = "$want" ]
}

stamp_write() {
  mkdir -p "$STAMP_DIR"
  cat "${@:2}" | sha256sum | cut -d' ' -f1 >"$STAMP_DIR/$1"
}

install_python() {
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the Python environment in $VENV"
    "$(python311)" -m venv "$VENV"
  fi
  if ! stamp_ok python requirements.lock pyproject.toml || [ ! -x "$VENV/bin/gridgis" ]; then
    say "installing Python packages (pinned in requirements.lock)"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
    # --compile-bytecode: these machines set PYTHONDONTWRITEBYTECODE=1, so without it every
    # start would compile pandas, SQLAlchemy, folium... from source (14 s for `gridgis --help`).
    "$VENV/bin/uv" pip install -q --compile-bytecode --python "$VENV/bin/python" -r requirements.lock
    "$VENV/bin/uv" pip install -q --python "$VENV/bin/python" --no-deps -e .
    stamp_write python requirements.lock pyproject.toml
  fi
  # Our own modules too (incremental: only files changed since the last run are compiled).
  "$VENV/bin/python" -m compileall -q -j 0 gis layers api maps >/dev/null || true
}

install_assets() {
  if ! stamp_ok npm maps/assets/package-lock.json || [ ! -d maps/assets/node_modules ]; then
    say "installing the pinned front-end assets (npm ci)"
    npm ci --prefix maps/assets --no-audit --no-fund --loglevel=error
    stamp_write npm maps/assets/package-lock.json
  fi
}

CITUS_SO=/usr/lib/postgresql/15/lib/citus.so
CITUS_SRC=../shared/vendor/citus
CITUS_APT=(postgresql-server-dev-15 liblz4-dev libzstd-dev libkrb5-dev libssl-dev libselinux1-dev
  libxslt1-dev libpam0g-dev libreadline-dev)

install_citus() {
  # Citus for the province-path tests (tests/layers/test_citus.py), built once per machine from
  # the pinned source as its README says, only when the source is there and Citus is missing.
  # Never fails the test command: without Citus those tests skip with a message.
  [ -f "$CITUS_SO" ] && return 0
  if [ ! -f "$CITUS_SRC/citus-13.2.2.tar.gz" ]; then
    say "Citus not installed and no source in $CITUS_SRC: the Citus tests will be skipped"
    return 0
  fi
  if [ -f "$STAMP_DIR/citus-failed" ]; then
    say "Citus build failed before ($(cat "$STAMP_DIR/citus-failed")): the Citus tests will be" \
      "skipped; remove that stamp to try again"
    return 0
  fi
  say "building Citus 13.2.2 from $CITUS_SRC (once per machine, 5-10 minutes on 2 cores)"
  local build log src
  src=$(readlink -f "$CITUS_SRC") build=$(mktemp -d) log="$build/build.log"
  if ! (
    install_apt "${CITUS_APT[@]}" \
      && cd "$build" \
      && tar xzf "$src/citus-13.2.2.tar.gz" \
      && cd citus-13.2.2 \
      && patch -p1 <"$src/pg15-minor-compat.patch" \
      && ./configure --without-libcurl \
      && make -j2 \
      && as_root make install
  ) >"$log" 2>&1; then
    say "Citus build failed (log: $log): the Citus tests will be skipped"
    mkdir -p "$STAMP_DIR" && echo "log: $log" >"$STAMP_DIR/citus-failed"
    return 0
  fi
  rm -rf "$build"
}

setup() {
  install_apt "${APP_APT[@]}" "$@"
  install_python
  install_assets
}

case "${1:-}" in
  app)
    shift
    setup
    exec "$VENV/bin/gridgis" demo "$@"
    ;;
  test)
    shift
    setup "${TEST_APT[@]}"
    install_citus
    say "ruff"
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check .
    say "mypy (gis, layers)"
    "$VENV/bin/mypy" gis layers
    say "import-linter (gis <- layers, maps <- api)"
    "$VENV/bin/lint-imports"
    say "eslint (maps/static page scripts)"
    maps/assets/node_modules/.bin/eslint -c maps/assets/eslint.config.js --max-warnings 0 maps/static
    say "pytest"
    exec "$VENV/bin/pytest" "$@"
    ;;
  setup)
    shift
    setup "${TEST_APT[@]}"
    ;;
  *)
    echo "usage: ./run.sh app | test [pytest args] | setup" >&2
    exit 2
    ;;
esac
