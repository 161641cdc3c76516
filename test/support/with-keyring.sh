#!/bin/sh
# Runs a command with a private, unlocked OS keychain: a throwaway HOME, a private D-Bus
# session bus and gnome-keyring-daemon's Secret Service, unlocked with a throwaway password,
# all stopped and removed afterwards. Debian packages: dbus-x11 (dbus-run-session,
# dbus-send), gnome-keyring. Usage: test/support/with-keyring.sh CMD [ARGS...]
set -eu
for tool in dbus-run-session dbus-send gnome-keyring-daemon; do
  command -v "$tool" >/dev/null 2>&1 || { echo "with-keyring: $tool is missing (apt-get install dbus-x11 gnome-keyring)" >&2; exit 127; }
done
home=$(mktemp -d "${TMPDIR:-/tmp}/opmas-keyring-XXXXXX")
trap 'rm -rf "$home"' EXIT
mkdir -m 700 "$home/run"
status=0
HOME="$home" XDG_DATA_HOME="$home/.local/share" XDG_CONFIG_HOME="$home/.config" XDG_CACHE_HOME="$home/.cache" \
  XDG_RUNTIME_DIR="$home/run" OPMAS_TEST_KEYRING="$home" \
  dbus-run-session -- sh -c '
    # --unlock reads the login keyring password from stdin and creates that keyring when absent.
    printf "%s" "throwaway-$$" | gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null &
    daemon=$!
    tries=0
    until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"; do
      tries=$((tries + 1))
      [ "$tries" -lt 100 ] || { echo "with-keyring: the Secret Service did not come up" >&2; kill "$daemon"; exit 1; }
      sleep 0.1
    done
    status=0
    "$@" || status=$?
    kill "$daemon" 2>/dev/null
    wait "$daemon" 2>/dev/null
    exit "$status"' sh "$@" || status=$?
exit "$status"
