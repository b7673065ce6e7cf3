#!/usr/bin/env bash
# Install what the lab needs on this host, if it is missing.
#
#   scripts/host-setup.sh          Docker engine, Vagrant, debootstrap, ssh client, venv support
#   scripts/host-setup.sh --test   the same, plus Chromium for the browser tests and the
#                                  vagrant-libvirt plugin, so that the Vagrantfile is
#                                  validated for libvirt too
#
# Debian and Ubuntu: installs with apt (as root, or through sudo). Other systems:
# says what to install and goes on, so that a host set up by hand still works.
set -euo pipefail

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

have() { command -v "$1" >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
engine_answers() { have docker && timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }
# A Docker engine: Debian's docker.io unless one is installed (or answering) already.
have dockerd || engine_answers || missing+=(docker.io)
have docker || missing+=(docker.io)
have vagrant || missing+=(vagrant)
have debootstrap || missing+=(debootstrap)
have ssh || missing+=(openssh-client)
have ssh-keygen || missing+=(openssh-client)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
# Vagrant's libvirt provider: Debian ships it as a package (a plugin installed with
# `vagrant plugin install` counts too).
libvirt_plugin() {
  dpkg-query -W -f='${Status}' vagrant-libvirt 2>/dev/null | grep -q 'ok installed' && return 0
  have vagrant && vagrant plugin list 2>/dev/null | grep -q '^vagrant-libvirt '
}
if [ "$want_test" = 1 ]; then
  have chromium || missing+=(chromium)
  libvirt_plugin || missing+=(vagrant-libvirt)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "Host: everything the lab needs is installed."
  exit 0
fi
# Unique names, in order.
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')

if ! have apt-get; then
  echo "Host: please install: ${missing[*]}" >&2
  case "$(uname -s)" in
    Darwin) echo "On macOS: Docker Desktop, Vagrant and VirtualBox (https://developer.hashicorp.com/vagrant/install)." >&2 ;;
    *) echo "With your system's package manager, then run this again." >&2 ;;
  esac
  exit 1
fi

echo "Host: installing ${missing[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
as_root apt-get update -qq
as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "Host: installed ${missing[*]}"
