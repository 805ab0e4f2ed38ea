#!/bin/sh
# omadm-agent post-remove: .deb/.ipk $1 = remove|purge|upgrade|..., .rpm $1 = 0 (erase) or 1 (upgrade).
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
# purge (deb) deletes the DM tree, which holds the server credentials. The
# group "omadm" stays (system groups are never removed: files may use it).
if [ "$1" = purge ]; then
	rm -rf /var/lib/omadm-agent
fi
exit 0
