# Installs Debian packages for commands that are absent: `need_commands cmake:cmake
# nasm:nasm pgbouncer:pgbouncer` (command:package; a command may also be an absolute path).
# Sourced by the scripts that build or test, so a fresh machine needs nothing beforehand.
need_commands() {
  local missing=() pair cmd
  for pair in "$@"; do
    cmd="${pair%%:*}"
    if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ]; then
      missing+=("${pair#*:}")
    fi
  done
  need_packages "${missing[@]}"
}

# Installs the Debian packages given that are not installed yet.
need_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  echo "installing from Debian packages: ${missing[*]}" >&2
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# What building the crate needs beyond Rust and a C compiler: libjpeg-turbo is built
# from source by the turbojpeg crate (cmake, and nasm for its SIMD code).
need_build_tools() {
  need_commands cmake:cmake nasm:nasm
}

# promtool (validates /metrics in the tests), taken out of Debian's prometheus package
# without installing it: the package would also set up a Prometheus server.
need_promtool() {
  local dir=".local/tools"
  if command -v promtool >/dev/null 2>&1; then
    PROMTOOL="$(command -v promtool)"
  elif [ -x "$dir/bin/promtool" ]; then
    PROMTOOL="$PWD/$dir/bin/promtool"
  else
    echo "fetching promtool from Debian's prometheus package" >&2
    local tmp; tmp="$(mktemp -d)"
    (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1) || {
      local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
      $sudo apt-get update -qq >&2
      (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1)
    }
    dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
    mkdir -p "$dir/bin"
    cp "$tmp/x/usr/bin/promtool" "$dir/bin/promtool"
    rm -rf "$tmp"
    PROMTOOL="$PWD/$dir/bin/promtool"
  fi
  export PROMTOOL
}

# A Python venv at .local/$1 holding the pinned requirements file $2, rebuilt only when
# the file (or the Python) changes. Needs python3 with venv (installed when absent).
venv() {
  local dir=.local/$1 req=$2 want
  need_commands python3:python3
  python3 -c 'import ensurepip, venv' 2>/dev/null || need_packages python3-venv
  want="$(sha256sum "$req" | cut -d' ' -f1) $(python3 -c 'import platform; print(platform.python_version())')"
  if [ "$(cat "$dir/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
    echo "installing $req into $dir" >&2
    local started=$SECONDS
    rm -rf "$dir"
    mkdir -p "$(dirname "$dir")"
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
    echo "$want" >"$dir/.requirements.sha256"
    echo "$dir ready in $((SECONDS - started))s" >&2
  fi
}
