#!/bin/sh
# Installs the Debian packages vigil needs: "build" for vigild and the
# modules, "deb" adds the tools that build and check vigil's own .debs
# (make deb), "test" adds the real programs the end-to-end tests drive,
# clang with libFuzzer for the fuzz targets, debootstrap and systemd-nspawn
# for the booted-host suites and, since the tests install those .debs,
# everything "deb" needs.
# Does nothing when everything is already installed.
set -eu

build_pkgs="g++ meson ninja-build pkg-config libpam0g-dev libsystemd-dev
  libtomlplusplus-dev nlohmann-json3-dev libssl-dev nettle-dev libfmt-dev libcurl4-openssl-dev liboath-dev libqrencode-dev openssh-server
  openssh-client sudo util-linux"
deb_pkgs="$build_pkgs debhelper dpkg-dev lintian"
test_pkgs="$deb_pkgs catch2 expect socat pamtester procps python3 curl openssl iproute2
  systemd dbus-user-session clang-format shellcheck valgrind prometheus clang libclang-rt-dev gnuplot-nox
  libfaketime debootstrap systemd-container"

case "${1:-build}" in
  build) want=$build_pkgs ;;
  deb) want=$deb_pkgs ;;
  test) want=$test_pkgs ;;
  *) echo "usage: $0 build|deb|test" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing packages:$missing (run as root to install them)" >&2
  exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
