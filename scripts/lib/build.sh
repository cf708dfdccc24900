# Builds the service and says where cargo put it. Sourced by the scripts that start the
# binary (after scripts/lib/packages.sh).
#
# build_service [CARGO_ARGS...] builds machinemate-api and the local S3 store of
# scripts/dev (examples/local_storage) in one cargo invocation and sets MACHINEMATE_API
# and LOCAL_STORAGE to the executables cargo reports having built: wherever
# CARGO_TARGET_DIR or a cargo configuration puts them, never an older binary at a fixed
# path. Built together with the example, which needs the dev-dependencies, the
# dependencies get the features scripts/test's build gives them (hyper's server,
# reqwest's multipart, ...), so the two commands share one build of them; a plain
# `cargo build --bin machinemate-api` unifies fewer features and compiles ~100 crates
# again. The release image builds without them (Dockerfile).
build_service() {
  need_build_tools
  need_commands python3:python3
  local report
  report=$(cargo build --locked --message-format=json-render-diagnostics \
    --bin machinemate-api --example local_storage "$@") || return 1
  MACHINEMATE_API=$(cargo_executable machinemate-api <<<"$report")
  LOCAL_STORAGE=$(cargo_executable local_storage <<<"$report")
  export MACHINEMATE_API LOCAL_STORAGE
}

# built TARGET CARGO_BUILD_ARGS...: builds, and prints the path of TARGET's executable
# as cargo reports it (`built machinemate-api --release --bin machinemate-api`).
built() {
  local target=$1
  shift
  need_commands python3:python3
  cargo build --locked --message-format=json-render-diagnostics "$@" | cargo_executable "$target"
}

# Cargo's target directory (CARGO_TARGET_DIR, a configuration's, or ./target).
cargo_target_dir() {
  cargo metadata --locked --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}

# The executable of target $1 in cargo's JSON messages on stdin.
cargo_executable() {
  python3 -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message["target"]["name"] == sys.argv[1] \
            and message.get("executable"):
        print(message["executable"])
        sys.exit(0)
sys.exit("cargo reported no executable for " + sys.argv[1])
' "$1"
}
