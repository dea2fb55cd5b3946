#!/usr/bin/env bash
# Makes a Debian 12 (amd64) or Raspberry Pi OS / Debian 12 (arm64) machine a kiosk
# appliance: it boots straight into the shopper kiosk, full screen, with nothing behind it.
#
#   sudo deploy/install.sh [--devices FILE] [--session cage|x11] [--kiosk-args 'ARGS'] [--no-start]
#
#   --devices FILE      the cabinet's USB ids (devices.conf.example): /dev/kiosk-pickup and
#                       /dev/kiosk-rfid; kept as /etc/kiosk/devices.conf for the next run
#   --session x11       Xorg and a minimal window manager instead of cage (Wayland), for a
#                       GPU that cage cannot drive
#   --kiosk-args 'ARGS' more kiosk options, e.g. '--rfid-port /dev/kiosk-rfid --ble'
#                       (kept in /etc/kiosk/kiosk.env; without the option it stays as it is)
#   --no-start          install and enable only (an image being built, a chroot)
#
# Run it again at any time (after an update of this checkout, or with a new devices file):
# the same options give the same machine. Everything it writes is listed in deploy/README.md.
set -euo pipefail

SOURCE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
DEPLOY=$SOURCE/deploy
VENV=/opt/kiosk
STATE=/var/lib/kiosk
CONFIG=/etc/kiosk
KIOSK_USER=kiosk
# dialout: pickup board and fob reader; bluetooth: BlueZ on the system bus; input: a
# keyboard-wedge fob reader; video, render: the GPU.
KIOSK_GROUPS=(dialout bluetooth input video render)

# What Qt's xcb platform, the kiosk's fonts, BlueZ and the session need. The kiosk is an
# X client in both sessions (Qt's on-screen keyboard needs X); cage shows it through
# Xwayland (which Debian's cage only recommends, and cage does not start without).
PACKAGES=(
    python3 python3-venv ca-certificates systemd procps
    # python-evdev (fob readers that type like a keyboard) is built on install.
    gcc libc6-dev python3-dev linux-libc-dev
    cage xwayland libpam-systemd dbus udev bluez
    libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
    libglib2.0-0 libpulse0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
    libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-xkb1
    fonts-noto-core fonts-noto-cjk
)
# --session x11 is for a GPU that wlroots cannot drive: every Xorg video driver Debian has.
X11_PACKAGES=(
    xserver-xorg-core xserver-xorg-video-all xserver-xorg-input-libinput xinit
    x11-xserver-utils matchbox-window-manager
)

say() { printf 'install.sh: %s\n' "$*"; }
die() {
    printf 'install.sh: %s\n' "$*" >&2
    exit 1
}

devices='' session=cage kiosk_args='' set_args=0 start=1
while (($# > 0)); do
    case $1 in
        --devices) devices=${2:?--devices needs a file} && shift ;;
        --session) session=${2:?--session needs cage or x11} && shift ;;
        --kiosk-args) kiosk_args=${2?--kiosk-args needs a value} set_args=1 && shift ;;
        --no-start) start=0 ;;
        -h | --help)
            sed -n '2,17s/^# \{0,1\}//p' "$0"
            exit 0
            ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done
[[ $session == cage || $session == x11 ]] || die "--session is cage or x11, not '$session'"
[[ -z $devices || -r $devices ]] || die "cannot read the devices file $devices"
# One line in an environment file: a newline or quote would end or bend it.
[[ $kiosk_args != *[$'\n'\"\'\\]* ]] || die "--kiosk-args cannot hold quotes, backslashes or newlines"
((EUID == 0)) || die "run it as root (sudo $0 ...)"

# shellcheck source=/dev/null
. /etc/os-release
arch=$(dpkg --print-architecture)
if ! [[ ${ID:-} == debian || ${ID:-} == raspbian || ${ID_LIKE:-} == *debian* ]] ||
    [[ ${VERSION_ID:-} != 12 ]]; then
    die "this is ${PRETTY_NAME:-an unknown system}: the kiosk is installed on Debian 12 or Raspberry Pi OS 12"
fi
[[ $arch == amd64 || $arch == arm64 ]] || die "this is $arch: the kiosk runs on amd64 or arm64"

# Writes stdin to FILE (mode MODE, root's) only if it differs: a second run changes nothing.
put() { # FILE MODE
    local file=$1 mode=$2 new
    new=$(mktemp)
    cat >"$new"
    if [[ -f $file ]] && cmp -s "$new" "$file"; then
        rm -f "$new"
    else
        install -D -m "$mode" -o root -g root "$new" "$file"
        rm -f "$new"
        say "wrote $file"
    fi
    chmod "$mode" "$file"
}

booted() { [[ -d /run/systemd/system ]]; }

say "system packages ($session session)"
wanted=("${PACKAGES[@]}")
[[ $session == x11 ]] && wanted+=("${X11_PACKAGES[@]}")
missing=()
for package in "${wanted[@]}"; do
    [[ $(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true) == *"ok installed"* ]] ||
        missing+=("$package")
done
if ((${#missing[@]} > 0)); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

say "the $KIOSK_USER user and its groups"
for group in "${KIOSK_GROUPS[@]}"; do
    getent group "$group" >/dev/null || groupadd --system "$group"
done
if ! getent passwd "$KIOSK_USER" >/dev/null; then
    useradd --system --user-group --home-dir "$STATE" --no-create-home \
        --shell /usr/sbin/nologin --comment "Lift-and-learn kiosk" "$KIOSK_USER"
fi
usermod --append --groups "$(
    IFS=,
    echo "${KIOSK_GROUPS[*]}"
)" "$KIOSK_USER"
# Personal data, keys and HQ's token live here: the kiosk user's eyes only.
install -d -o "$KIOSK_USER" -g "$KIOSK_USER" -m 0700 "$STATE"

say "the kiosk's Python environment in $VENV"
[[ -x $VENV/bin/python ]] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "$SOURCE"
install -D -m 0755 "$DEPLOY/kiosk-xsession" "$VENV/share/kiosk-xsession"
if [[ ! -f $STATE/bundle/manifest.json ]]; then
    # Something to show until HQ's first release arrives (the relay fetches it).
    runuser -u "$KIOSK_USER" -- "$VENV/bin/kiosk-sample-bundle" "$STATE/bundle" >/dev/null
    say "made the sample content bundle in $STATE/bundle"
fi

say "devices: /dev/kiosk-pickup, /dev/kiosk-rfid"
install -d -m 0755 "$CONFIG"
if [[ -n $devices ]]; then
    "$DEPLOY/kiosk-udev-rules" "$devices" >/dev/null # refused before anything is replaced
    [[ $(readlink -f "$devices") == "$CONFIG/devices.conf" ]] || put "$CONFIG/devices.conf" 0644 <"$devices"
fi
if [[ -f $CONFIG/devices.conf ]]; then
    "$DEPLOY/kiosk-udev-rules" "$CONFIG/devices.conf" | put /etc/udev/rules.d/99-kiosk-devices.rules 0644
elif [[ ! -f /etc/udev/rules.d/99-kiosk-devices.rules ]]; then
    say "no devices file yet: run again with --devices FILE (see $DEPLOY/devices.conf.example)"
fi
rm -f /etc/udev/rules.d/99-kiosk-pickup.rules # the rule before /dev/kiosk-pickup
if booted && udevadm control --reload 2>/dev/null; then
    udevadm trigger --subsystem-match=tty --action=add
fi

say "BlueZ for the $KIOSK_USER user"
put /etc/dbus-1/system.d/kiosk-bluez.conf 0644 <<'EOF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- Written by the kiosk's install.sh: the kiosk reads BLE tags through BlueZ. -->
<busconfig>
  <policy user="kiosk">
    <allow send_destination="org.bluez"/>
  </policy>
</busconfig>
EOF
# Passive BLE scanning (kiosk --ble) is an experimental BlueZ interface.
put /etc/systemd/system/bluetooth.service.d/kiosk.conf 0644 <<'EOF'
# Written by the kiosk's install.sh: passive scanning for kiosk --ble.
[Service]
ExecStart=
ExecStart=/usr/libexec/bluetooth/bluetoothd --experimental
EOF

say "the kiosk session on tty1 ($session)"
# A logind session for cage (or Xorg): the seat's GPU and input devices.
put /etc/pam.d/kiosk 0644 <<'EOF'
# Written by the kiosk's install.sh: the logind session kiosk.service runs in (PAMName=).
account  required  pam_unix.so
session  required  pam_unix.so
session  required  pam_systemd.so
EOF
# No login prompt on any console and no spare VTs: nothing to switch to, nothing behind.
put /etc/systemd/logind.conf.d/kiosk.conf 0644 <<'EOF'
# Written by the kiosk's install.sh: no consoles to switch to.
[Login]
NAutoVTs=0
ReserveVT=0
EOF
# The SysRq keys could end the session (Alt+SysRq+K); staff use the maintenance screen.
put /etc/sysctl.d/90-kiosk.conf 0644 <<'EOF'
# Written by the kiosk's install.sh: no way out with keys.
kernel.sysrq = 0
EOF
put /etc/systemd/system/kiosk.service 0644 <"$DEPLOY/kiosk.service"
if [[ $session == x11 ]]; then
    put /etc/systemd/system/kiosk.service.d/x11.conf 0644 <"$DEPLOY/kiosk-x11.conf"
    put /etc/X11/xorg.conf.d/10-kiosk.conf 0644 <"$DEPLOY/10-kiosk-xorg.conf"
else
    rm -f /etc/systemd/system/kiosk.service.d/x11.conf /etc/X11/xorg.conf.d/10-kiosk.conf
fi
if ((set_args)) || [[ ! -f $CONFIG/kiosk.env ]]; then
    put "$CONFIG/kiosk.env" 0644 <<EOF
# Written by the kiosk's install.sh (--kiosk-args): more options for the kiosk, e.g.
# --rfid-port /dev/kiosk-rfid --ble
KIOSK_ARGS=$kiosk_args
EOF
fi
systemctl mask --quiet getty@tty1.service
systemctl enable --quiet kiosk.service
systemctl set-default --quiet graphical.target
if booted; then
    systemctl daemon-reload
    sysctl -q -p /etc/sysctl.d/90-kiosk.conf || true # not in a container
    systemctl try-restart bluetooth.service
    if ((start)); then
        systemctl restart kiosk.service
        say "started: journalctl -u kiosk -f"
    fi
fi
say "done: the kiosk starts at every boot (systemctl status kiosk)"
