# smartcard: SIM/UICC bootstrap (owner: smartcard helper).
# pcscd + vpcd are the real PC/SC peers of smartcard/pcsc's tests (the Go fake
# card of smartcard/cardtest plugs into vpcd); opensc-tool cross-checks.
DEB_PKGS += pcscd vsmartcard-vpcd opensc pcsc-tools util-linux
