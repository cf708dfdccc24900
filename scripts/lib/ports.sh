# Ports for the local stack. Needs python3 (scripts/lib/packages.sh installs it).

# Whether HOST:PORT can be listened on now, tried as the service binds (SO_REUSEADDR).
port_free() { # $1: host, $2: port
  python3 -c '
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
with socket.socket(family) as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((host, port))
    except OSError:
        sys.exit(1)
' "$1" "$2"
}

# The first port from $2 up that HOST $1 can listen on.
first_free_port() { # $1: host, $2: first port to try
  local port=$2
  until port_free "$1" "$port"; do
    port=$((port + 1))
  done
  echo "$port"
}

# This machine's address on the local network (what a phone on the same Wi-Fi reaches).
lan_address() {
  python3 -c '
import socket
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
    print(s.getsockname()[0])
' 2>/dev/null || echo 127.0.0.1
}
