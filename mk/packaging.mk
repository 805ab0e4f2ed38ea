# Distribution packages (owner: packaging/ helper). Included by the Makefile.
#
# make package       static binaries for amd64, armhf (GOARM=7) and arm64 and
#                    a .deb, .ipk and .rpm for each, all in dist/
# make test-package  the amd64 .deb only, checked with dpkg-deb (part of make test)
#
# nfpm is pinned (v2.45.2; v2.46+ cannot be fetched through this project's
# module proxy) and run with "go run", which downloads and builds it on
# first use (about 60 s on 2 cores) and reuses the build cache afterwards.

NFPM_VERSION := v2.45.2
NFPM         := $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION)
DIST         := dist
# nfpm arch names: arm7 is GOARCH=arm GOARM=7 (deb/ipk armhf, rpm armv7hl).
PKG_ARCHES   := amd64 arm7 arm64
PKG_FORMATS  := deb ipk rpm
# Package versions must start with a digit: a tag v1.2.3 gives 1.2.3 (and
# 1.2.3+4.gabcdef after it); an untagged tree gives 0.0.0+git<date>.<hash>.
# Both are computed once per make run (:=), so a commit landing during a
# long build cannot give the binaries and the packages different versions.
ifeq ($(origin PKG_VERSION),undefined)
PKG_VERSION := $(shell git describe --tags --match 'v[0-9]*' 2>/dev/null | sed 's/^v//; s/-/+/; s/-/./g' | grep . || \
                 git log -1 --format='0.0.0+git%cd.%h' --date=format:%Y%m%d 2>/dev/null || echo 0.0.0)
endif
PKG_BIN_VERSION := $(VERSION)
PKG_LDFLAGS     := -s -w -X main.version=$(PKG_BIN_VERSION)

.PHONY: package test-package

# dist/omadm-agent-linux-<nfpm arch>: the static binary for one arch.
$(DIST)/omadm-agent-linux-%: FORCE
	@mkdir -p $(DIST)
	case $* in \
	  arm7) goarch=arm goarm=7 ;; \
	  *) goarch=$* goarm= ;; \
	esac; \
	CGO_ENABLED=0 GOOS=linux GOARCH=$$goarch GOARM=$$goarm \
	  $(GO) build -trimpath -ldflags "$(PKG_LDFLAGS)" -o $@ $(PKG)

.PHONY: FORCE
FORCE:

# NFPM_RUN ARCH FORMAT (shell words): one package into dist/.
NFPM_RUN = ARCH=$$a VERSION=$(PKG_VERSION) BINARY=$(DIST)/omadm-agent-linux-$$a \
	  $(NFPM) package --config packaging/nfpm.yaml --packager $$f --target $(DIST)/

package: $(addprefix $(DIST)/omadm-agent-linux-,$(PKG_ARCHES)) ## static binaries + .deb/.ipk/.rpm for amd64, armhf, arm64 in dist/
	rm -f $(DIST)/omadm-agent*.deb $(DIST)/omadm-agent*.ipk $(DIST)/omadm-agent*.rpm
	set -e; for a in $(PKG_ARCHES); do for f in $(PKG_FORMATS); do $(NFPM_RUN); done; done
	@ls -l $(DIST)

test-package: $(DIST)/omadm-agent-linux-amd64 ## build the amd64 .deb and check its files and metadata with dpkg-deb
	rm -f $(DIST)/omadm-agent_*_amd64.deb
	a=amd64 f=deb; $(NFPM_RUN)
	sh packaging/check-deb.sh $(DIST)/omadm-agent_$(PKG_VERSION)-1_amd64.deb $(PKG_VERSION)-1 "$(PKG_BIN_VERSION)"

test-extra: test-package
