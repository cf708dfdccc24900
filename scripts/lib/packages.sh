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
