#!/bin/sh
# Runs inside the installed Debian 12 root booted under systemd-nspawn (systemd as PID 1),
# as kiosk-check.service: kiosk.service (cage headless: kiosk-headless.conf) is started by
# the boot as on a kiosk; the kiosk (cage's child) is then crashed with SIGSEGV and frozen
# with SIGSTOP, and each time systemd must bring it back (READY=1 comes only once the
# attract screen is painted).
# Writes /var/tmp/kiosk-check.json for the test, then the container powers off.
set -u
out=/var/tmp/kiosk-check.json
now() { cut -d' ' -f1 /proc/uptime; }
prop() { systemctl show -P "$1" kiosk.service; }
# The kiosk process: cage's child (or the main process itself, were it started bare).
kiosk_pid() { pgrep -P "$(prop MainPID)" -f /opt/kiosk/bin/kiosk || prop MainPID; }
# Waits (up to 120 s) until kiosk.service is active with NRestarts=$1; prints the seconds.
back_after() { # restarts start
    i=0
    while [ "$(prop NRestarts)" != "$1" ] || [ "$(prop ActiveState)" != active ]; do
        i=$((i + 1))
        [ $i -lt 1200 ] || { echo null; return; }
        sleep 0.1
    done
    awk -v a="$(now)" -v b="$2" 'BEGIN { printf "%.2f\n", a - b }'
}
start=$(now)
first=$(back_after 0 "$start")
pid=$(kiosk_pid)
t=$(now); kill -SEGV "$pid"; segv=$(back_after 1 "$t")
sleep 1
pid=$(kiosk_pid)
t=$(now); kill -STOP "$pid"; stop=$(back_after 2 "$t")
sleep 1
cat >"$out" <<JSON
{"first_active": $first, "segv_back": $segv, "freeze_back": $stop,
 "restarts": $(prop NRestarts), "state": "$(prop ActiveState)", "type": "$(prop Type)",
 "watchdog": "$(prop WatchdogUSec)",
 "main": "$(ps -o comm= -p "$(prop MainPID)")",
 "user": "$(ps -o user= -p "$(kiosk_pid)")"}
JSON
journalctl -u kiosk.service --no-pager -o short-monotonic >/var/tmp/kiosk-journal.txt 2>&1
echo "check done at $(now)" >>/var/tmp/kiosk-journal.txt
