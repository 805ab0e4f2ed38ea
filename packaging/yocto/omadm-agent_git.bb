SUMMARY = "OMA DM 1.2 device management client for embedded Linux gateways"
DESCRIPTION = "Receives server notifications as WAP push SMS through the modem, \
runs DM sessions over HTTPS (WBXML or XML) and exposes a D-Bus control API \
(org.omadm.Agent1)."
HOMEPAGE = "https://github.com/omadm-agent/omadm-agent"
SECTION = "admin"

# Add "& ${GO_MOD_LICENSES}" once omadm-agent-licenses.inc is generated.
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://src/${GO_IMPORT}/LICENSE;md5=0de8b9f72ba4e517435966243d62a2f0"

GO_IMPORT = "github.com/omadm-agent/omadm-agent"
GO_INSTALL = "${GO_IMPORT}/agent/cmd/omadm-agent"

SRC_URI = "git://${GO_IMPORT}.git;protocol=https;branch=main;destsuffix=${GO_SRCURI_DESTSUFFIX}"
# Follows main; pin a commit (and set PV from its tag) for a reproducible image.
SRCREV = "${AUTOREV}"
PV = "0.0.0+git"

# go.mod says "go 1.26": the layer's Go toolchain must be 1.26 or newer.
inherit go-mod go-mod-update-modules systemd useradd

# Module dependencies. "bitbake -c update_modules omadm-agent" writes these
# two files next to the recipe (gomod:// fetches and their licenses); until
# they exist, do_compile downloads the modules itself, which is why it may
# use the network. Remove the network flag once the files are committed.
include ${BPN}-go-mods.inc
include ${BPN}-licenses.inc
do_compile[network] = "1"

# A static, cgo-free binary, as in the project's own builds. Without cgo,
# Go cannot link -buildmode=pie on every arch (32-bit arm needs the external
# linker), so build a plain static executable, which has no text relocations.
export CGO_ENABLED = "0"
GOBUILDFLAGS:remove = "-buildmode=pie"
GO_LINKSHARED = ""
GO_LINUXLOADER = ""
# No -s -w here: the image build strips, and keeps the symbols in ${PN}-dbg.
GO_EXTRA_LDFLAGS:append = " -X main.version=${PV}"
# HTTP/1.1 only: leave net/http's HTTP/2 client out (as the Makefile does).
GOBUILDFLAGS:append = " -tags=nethttpomithttp2"

do_install:append() {
	src=${S}/src/${GO_IMPORT}

	install -d ${D}${systemd_system_unitdir}
	install -m 0644 $src/systemd/omadm-agent.service ${D}${systemd_system_unitdir}/

	install -d ${D}${datadir}/dbus-1/system.d ${D}${datadir}/dbus-1/interfaces
	install -m 0644 $src/packaging/dbus/org.omadm.Agent1.conf ${D}${datadir}/dbus-1/system.d/
	install -m 0644 $src/packaging/dbus/org.omadm.Agent1.xml ${D}${datadir}/dbus-1/interfaces/

	install -d ${D}${sysconfdir}/omadm-agent/conf.d
	install -m 0644 $src/packaging/agent.toml ${D}${sysconfdir}/omadm-agent/agent.toml

	install -d ${D}${docdir}/${BPN}/examples
	install -m 0644 $src/packaging/udev/70-omadm-agent-modem.rules ${D}${docdir}/${BPN}/examples/
}

# The control group of the D-Bus API (named in the bus policy and in
# [dbus] control_group of agent.toml).
USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = "--system omadm"

SYSTEMD_SERVICE:${PN} = "omadm-agent.service"
SYSTEMD_AUTO_ENABLE:${PN} = "enable"

FILES:${PN} += " \
    ${systemd_system_unitdir}/omadm-agent.service \
    ${datadir}/dbus-1/system.d/org.omadm.Agent1.conf \
    ${datadir}/dbus-1/interfaces/org.omadm.Agent1.xml \
    ${sysconfdir}/omadm-agent \
"
CONFFILES:${PN} = "${sysconfdir}/omadm-agent/agent.toml"

# The control API needs the system bus; the unit uses SupplementaryGroups=dialout
# (base-passwd provides the group).
RRECOMMENDS:${PN} += "dbus"
