package apdu

import "fmt"

// Status words the reader branches on.
const (
	SWOK                 uint16 = 0x9000
	SWEndOfFile          uint16 = 0x6282 // end of file reached before Le bytes
	SWWrongLength        uint16 = 0x6700
	SWNoLogicalChannel   uint16 = 0x6881 // logical channel not supported
	SWSecurityStatus     uint16 = 0x6982 // security status not satisfied
	SWCommandNotAllowed  uint16 = 0x6986
	SWFunctionNotSupport uint16 = 0x6A81
	SWFileNotFound       uint16 = 0x6A82
	SWRecordNotFound     uint16 = 0x6A83
	SWWrongP1P2          uint16 = 0x6B00 // also: offset beyond the end of a transparent EF
	SWInsNotSupported    uint16 = 0x6D00
	SWClassNotSupported  uint16 = 0x6E00
	SWGSMFileNotFound    uint16 = 0x9404 // GSM 11.11: file ID not found / pattern not found
	SWGSMAccess          uint16 = 0x9804 // GSM 11.11: access condition not fulfilled
)

// StatusError is a response whose status word is not a success.
type StatusError struct {
	SW uint16
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("card status %04X: %s", e.SW, Meaning(e.SW))
}

// Is makes errors.Is(err, &StatusError{SW: x}) match on the status word.
func (e *StatusError) Is(target error) bool {
	t, ok := target.(*StatusError)
	return ok && t.SW == e.SW
}

// IsSuccess reports whether sw means the command completed: 9000, 91xx
// (TS 102 221 proactive command pending), 92xx (GSM 11.11 success after
// retries), 62xx and 63xx (warnings, ISO 7816-4 §5.6: the processing
// completed, data may be partial).
func IsSuccess(sw uint16) bool {
	switch sw >> 8 {
	case 0x90:
		return sw == SWOK
	case 0x91, 0x92, 0x62, 0x63:
		return true
	}
	return false
}

// NotFound reports whether sw says the file, record or application does
// not exist (ISO 6A82/6A83, GSM 9404, 9402).
func NotFound(sw uint16) bool {
	return sw == SWFileNotFound || sw == SWRecordNotFound || sw == SWGSMFileNotFound || sw == 0x9402
}

// Denied reports whether sw says the access conditions are not met.
func Denied(sw uint16) bool {
	return sw == SWSecurityStatus || sw == SWGSMAccess || sw == 0x6983 || sw == 0x6985
}

// Unsupported reports whether sw says the class, instruction or function
// is not supported (the card is a 2G SIM or has no logical channels).
func Unsupported(sw uint16) bool {
	switch sw {
	case SWClassNotSupported, SWInsNotSupported, SWFunctionNotSupport, SWNoLogicalChannel, 0x6882, 0x6E80:
		return true
	}
	return sw>>8 == 0x6E || sw>>8 == 0x6D
}

// Meaning returns the ISO 7816-4 (and GSM 11.11 for 9xxx) meaning of sw.
func Meaning(sw uint16) string {
	switch sw {
	case SWOK:
		return "normal processing"
	case 0x6281:
		return "part of returned data may be corrupted"
	case SWEndOfFile:
		return "end of file or record reached before reading Le bytes"
	case 0x6283:
		return "selected file deactivated"
	case 0x6581:
		return "memory failure"
	case SWWrongLength:
		return "wrong length"
	case SWNoLogicalChannel:
		return "logical channel not supported"
	case 0x6882:
		return "secure messaging not supported"
	case 0x6981:
		return "command incompatible with file structure"
	case SWSecurityStatus:
		return "security status not satisfied"
	case 0x6983:
		return "authentication method blocked"
	case 0x6985:
		return "conditions of use not satisfied"
	case SWCommandNotAllowed:
		return "command not allowed (no current EF)"
	case 0x6A80:
		return "incorrect parameters in the data field"
	case SWFunctionNotSupport:
		return "function not supported"
	case SWFileNotFound:
		return "file or application not found"
	case SWRecordNotFound:
		return "record not found"
	case 0x6A84:
		return "not enough memory space in the file"
	case 0x6A86:
		return "incorrect parameters P1-P2"
	case 0x6A87:
		return "Lc inconsistent with P1-P2"
	case 0x6A88:
		return "referenced data not found"
	case SWWrongP1P2:
		return "wrong parameters P1-P2 (offset outside the EF)"
	case SWInsNotSupported:
		return "instruction code not supported or invalid"
	case SWClassNotSupported:
		return "class not supported"
	case 0x6F00:
		return "no precise diagnosis"
	case 0x9400:
		return "GSM: no EF selected"
	case 0x9402:
		return "GSM: out of range (invalid address)"
	case SWGSMFileNotFound:
		return "GSM: file ID not found"
	case 0x9408:
		return "GSM: file inconsistent with the command"
	case SWGSMAccess:
		return "GSM: access condition not fulfilled"
	}
	switch sw >> 8 {
	case 0x61:
		return fmt.Sprintf("%d response bytes still available", leOf(byte(sw)))
	case 0x6C:
		return fmt.Sprintf("wrong Le, %d bytes available", leOf(byte(sw)))
	case 0x9F:
		return fmt.Sprintf("GSM: %d response bytes available", leOf(byte(sw)))
	case 0x63:
		if sw&0xF0 == 0xC0 {
			return fmt.Sprintf("verification failed, %d tries left", sw&0x0F)
		}
		return "warning, non-volatile memory changed"
	case 0x62:
		return "warning, non-volatile memory unchanged"
	case 0x64:
		return "execution error, non-volatile memory unchanged"
	case 0x65:
		return "execution error, non-volatile memory changed"
	case 0x67:
		return "wrong length"
	case 0x68:
		return "functions in CLA not supported"
	case 0x69:
		return "command not allowed"
	case 0x6A:
		return "wrong parameters P1-P2"
	case 0x91:
		return "normal processing, proactive command pending"
	case 0x92:
		return "GSM: command successful after retries"
	case 0x98:
		return "GSM: security error"
	}
	return "unknown status"
}
