#!/usr/bin/env bash
# Makes sure the Debian packages the platform and its tests need are installed, and that a
# Docker engine is reachable for the control plane's Docker runtime tests.
# As root it installs what is missing with apt-get and starts dockerd when none answers;
# otherwise it prints the exact commands.
set -euo pipefail

# Server binaries (initdb, pg_ctl, postgres) and psql; WeasyPrint, poppler and fonts for the
# documents; docker.io for the Docker runtime (dockerd, containerd, runc and the docker CLI).
PACKAGES=(postgresql postgresql-client weasyprint poppler-utils fonts-paratype docker.io)
DOCKERD_LOG="${MONO_DOCKERD_LOG:-/var/log/mono-dockerd.log}"

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

is_root() { [ "$(id -u)" -eq 0 ]; }

if [ ${#missing[@]} -gt 0 ]; then
    if is_root; then
        echo "Installing Debian packages: ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "Missing Debian packages: ${missing[*]}" >&2
        echo "Install them with:" >&2
        echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
fi

docker_answers() {
    timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

if docker_answers; then
    exit 0
fi
if ! is_root; then
    echo "No Docker engine answers: the Docker runtime tests will be skipped (they fail under CI=true)." >&2
    echo "Start one as root with:" >&2
    echo "  sudo dockerd --iptables=false --bridge=none >/var/log/mono-dockerd.log 2>&1 &" >&2
    exit 0
fi

# This machine's engine runs without iptables and without the default bridge: the platform's
# containers use host networking only.
echo "Starting dockerd (log: $DOCKERD_LOG)" >&2
mkdir -p "$(dirname "$DOCKERD_LOG")"
setsid nohup dockerd --iptables=false --bridge=none >>"$DOCKERD_LOG" 2>&1 </dev/null &
for _ in $(seq 1 60); do
    if docker_answers; then
        echo "dockerd is up: $(docker version --format 'engine {{.Server.Version}}, API {{.Server.APIVersion}}')" >&2
        exit 0
    fi
    sleep 1
done
echo "dockerd did not come up within 60 s; the last lines of $DOCKERD_LOG:" >&2
tail -n 30 "$DOCKERD_LOG" >&2 || true
if [ "${CI:-}" = "true" ]; then
    exit 1
fi
echo "Continuing without Docker: the Docker runtime tests will be skipped." >&2
