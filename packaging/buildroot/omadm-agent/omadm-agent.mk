################################################################################
#
# omadm-agent
#
################################################################################

# Follows the main branch; set a tag or commit for a reproducible image
# (and add omadm-agent.hash if BR2_DOWNLOAD_FORCE_CHECK_HASHES is set).
OMADM_AGENT_VERSION = main
OMADM_AGENT_SITE = https://github.com/omadm-agent/omadm-agent.git
OMADM_AGENT_SITE_METHOD = git
OMADM_AGENT_LICENSE = MIT
OMADM_AGENT_LICENSE_FILES = LICENSE

# go.mod says "go 1.26": host-go must be 1.26 or newer.
OMADM_AGENT_GOMOD = github.com/omadm-agent/omadm-agent
OMADM_AGENT_BUILD_TARGETS = agent/cmd/omadm-agent
# A static, cgo-free binary, as in the project's own builds (-trimpath is
# added by the golang infrastructure).
OMADM_AGENT_GO_ENV = CGO_ENABLED=0
OMADM_AGENT_LDFLAGS = -s -w -X main.version=$(OMADM_AGENT_VERSION)
# HTTP/1.1 only: leave net/http's HTTP/2 client out (as the Makefile does).
OMADM_AGENT_TAGS = nethttpomithttp2

# The control group of the D-Bus API (named in the bus policy and in
# [dbus] control_group of agent.toml). "-" as user name: only the group.
define OMADM_AGENT_USERS
	- -1 omadm -1 * - - - omadm-agent D-Bus control group
endef

define OMADM_AGENT_INSTALL_FILES
	$(INSTALL) -D -m 0644 $(@D)/packaging/agent.toml \
		$(TARGET_DIR)/etc/omadm-agent/agent.toml
	$(INSTALL) -d -m 0755 $(TARGET_DIR)/etc/omadm-agent/conf.d
	$(INSTALL) -D -m 0644 $(@D)/packaging/dbus/org.omadm.Agent1.conf \
		$(TARGET_DIR)/usr/share/dbus-1/system.d/org.omadm.Agent1.conf
	$(INSTALL) -D -m 0644 $(@D)/packaging/dbus/org.omadm.Agent1.xml \
		$(TARGET_DIR)/usr/share/dbus-1/interfaces/org.omadm.Agent1.xml
endef
OMADM_AGENT_POST_INSTALL_TARGET_HOOKS += OMADM_AGENT_INSTALL_FILES

# The unit creates /var/lib/omadm-agent (StateDirectory=) at run time, so a
# read-only root file system only needs a writable /var/lib.
define OMADM_AGENT_INSTALL_INIT_SYSTEMD
	$(INSTALL) -D -m 0644 $(@D)/systemd/omadm-agent.service \
		$(TARGET_DIR)/usr/lib/systemd/system/omadm-agent.service
endef

$(eval $(golang-package))
