#!/bin/sh
# omadm-agent pre-remove: .deb/.ipk $1 = remove|upgrade|deconfigure, .rpm $1 = 0 (erase) or 1 (upgrade).
set -e
case "$1" in
remove | 0)
	if [ -d /run/systemd/system ]; then
		systemctl --no-reload disable --now omadm-agent.service || true
	fi
	;;
esac
exit 0
