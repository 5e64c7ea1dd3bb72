#!/bin/sh
# scripts/deps.sh — install the Debian packages cluebus needs, only when one is missing.
#
#   deps.sh               the packages to build and test cluebus
#   deps.sh --browser     headless Chromium and a CJK font, for the status page's test
#                         (`make test` installs them; the test skips without Chromium)
#   deps.sh --peer NAME   the packages of one of the bench's durable peers (redis, rabbitmq):
#                         the server and the client library its load generator links
#
# Idempotent and quiet when everything is present; called by `make`, `make test`,
# `make demo`, .ci/run and scripts/bench.sh so that a fresh Debian machine needs no manual
# step. Exits non-zero when apt-get fails.
set -eu

case ${1:-} in
"")
	PKGS="build-essential pkg-config clang libclang-rt-14-dev llvm
libzmq3-dev libprotobuf-c-dev protobuf-c-compiler liblmdb-dev lmdb-utils
libssl-dev libjansson-dev libconfig-dev libmicrohttpd-dev libcmocka-dev
libsodium-dev valgrind python3
python3-zmq python3-protobuf protobuf-compiler python3-cryptography
python3-prometheus-client curl" ;;
--browser)
	PKGS="chromium fonts-wqy-microhei" ;;
--peer)
	case ${2:-} in
	redis) PKGS="redis-server redis-tools libhiredis-dev" ;;
	rabbitmq) PKGS="rabbitmq-server librabbitmq-dev" ;;
	*) echo "usage: deps.sh [--browser | --peer redis|rabbitmq]" >&2; exit 2 ;;
	esac ;;
*)
	echo "usage: deps.sh [--browser | --peer redis|rabbitmq]" >&2
	exit 2 ;;
esac

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
