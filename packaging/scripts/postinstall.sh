#!/bin/sh
# omadm-agent post-install, shared by .deb and .ipk ($1 = configure [old-version])
# and .rpm ($1 = 1 on install, 2 on upgrade).
set -e

# The control group of the D-Bus API (see /usr/share/dbus-1/system.d/org.omadm.Agent1.conf).
if ! getent group omadm >/dev/null 2>&1 && ! grep -q '^omadm:' /etc/group 2>/dev/null; then
	if command -v groupadd >/dev/null 2>&1; then
		groupadd --system omadm
	elif command -v addgroup >/dev/null 2>&1; then
		addgroup -S omadm # busybox
	else
		echo "omadm-agent: cannot create group omadm (no groupadd/addgroup)" >&2
	fi
fi

# The state holds credentials: keep it root-only even if it already existed.
mkdir -p /var/lib/omadm-agent
chmod 0700 /var/lib/omadm-agent

# Only with systemd running (not in an image build or a chroot).
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
	upgrade=false
	case "$1" in
	configure) [ -n "$2" ] && upgrade=true ;;
	[2-9]) upgrade=true ;;
	esac
	if $upgrade; then
		systemctl try-restart omadm-agent.service || true
	else
		# Enable according to the distribution's presets; start it by hand
		# (or at the next boot) once accounts or a bootstrap are in place.
		systemctl preset omadm-agent.service || true
	fi
fi
exit 0
