# What scripts/dev chose (port, URLs, the binary it serves), kept in .local/dev/state.env
# while it runs, so scripts/dev-token makes tokens for that service.

DEV_STATE=.local/dev/state.env
DEV_STATE_VARS=(DATABASE_URL PORT SUPABASE_URL LOCAL_AUTH_KEY_FILE MACHINEMATE_API)

write_dev_state() {
  mkdir -p "$(dirname "$DEV_STATE")"
  {
    echo "# scripts/dev (pid $$) runs with these; scripts/dev-token reads them."
    local name
    for name in "${DEV_STATE_VARS[@]}"; do
      printf '%s=%q\n' "$name" "${!name}"
    done
    printf 'DEV_PID=%q\n' "$$"
  } >"$DEV_STATE"
}

# Exports the values of a running scripts/dev, except those already set.
read_dev_state() {
  local pid line name
  pid=$(sed -n 's/^DEV_PID=//p' "$DEV_STATE" 2>/dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  while IFS= read -r line; do
    name=${line%%=*}
    case " ${DEV_STATE_VARS[*]} " in *" $name "*) ;; *) continue ;; esac
    # Values are `printf %q`-quoted by write_dev_state.
    [ -n "${!name:-}" ] || eval "export $line"
  done <"$DEV_STATE"
}
