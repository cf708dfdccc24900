# The local stack's environment, shared by scripts/dev and scripts/dev-token (sourced
# from the repository root). Anything already set in the environment wins.

if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL="$(scripts/local-postgres start)"
  export DATABASE_URL
fi
export ENVIRONMENT="${ENVIRONMENT:-development}"
export LOG_FORMAT="${LOG_FORMAT:-pretty}"
# This machine only; HOST=0.0.0.0 for a phone on the same network.
export HOST="${HOST:-127.0.0.1}"
# Expo's web build and Expo Go on this machine (native apps need no CORS).
export CORS_ORIGINS="${CORS_ORIGINS:-http://localhost:8081,exp://localhost:8081}"
# Local Supabase Auth: the service serves this key's JWKS at
# $SUPABASE_URL/auth/v1/.well-known/jwks.json and verifies tokens against it.
export LOCAL_AUTH_KEY_FILE="${LOCAL_AUTH_KEY_FILE:-$PWD/.local/auth/dev-es256.pk8}"
# The explicit opt-in the local key needs (src/config/); nothing in the cloud sets it.
export LOCAL_AUTH=enabled
