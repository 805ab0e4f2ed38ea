package syncml

import "strconv"

// Content types of SyncML DM messages on the wire (RepPro §3.1 / protocol.md §3.1).
const (
	ContentTypeWBXML = "application/vnd.syncml.dm+wbxml"
	ContentTypeXML   = "application/vnd.syncml.dm+xml"
)

// Namespaces used in SyncML DM 1.2 documents.
const (
	NSSyncML12 = "SYNCML:SYNCML1.2"
	NSSyncML11 = "SYNCML:SYNCML1.1"
	NSSyncML10 = "SYNCML:SYNCML1.0"
	NSMetInf   = "syncml:metinf"
	NSDMDDF12  = "syncml:dmddf1.2"
)

// Header values of a DM 1.2 message.
const (
	VerDTD12   = "1.2"
	VerProtoDM = "DM/1.2"
)

// Encoding is the wire encoding of a message.
type Encoding int

// The two encodings of RepPro: textual XML and WBXML 1.2.
const (
	XML Encoding = iota
	WBXML
)

// String returns "xml" or "wbxml".
func (e Encoding) String() string {
	switch e {
	case XML:
		return "xml"
	case WBXML:
		return "wbxml"
	}
	return "Encoding(" + strconv.Itoa(int(e)) + ")"
}

// ContentType returns the MIME type of the encoding.
func (e Encoding) ContentType() string {
	if e == WBXML {
		return ContentTypeWBXML
	}
	return ContentTypeXML
}

// AlertCode is the Data of an Alert command (protocol.md §5.1).
type AlertCode int

// Alert codes used by DM 1.2.
const (
	AlertDisplay             AlertCode = 1100
	AlertConfirmOrReject     AlertCode = 1101
	AlertTextInput           AlertCode = 1102
	AlertSingleChoice        AlertCode = 1103
	AlertMultipleChoice      AlertCode = 1104
	AlertServerInitiatedMgmt AlertCode = 1200
	AlertClientInitiatedMgmt AlertCode = 1201
	AlertNextMessage         AlertCode = 1222
	AlertSessionAbort        AlertCode = 1223
	AlertClientEvent         AlertCode = 1224
	AlertNoEndOfData         AlertCode = 1225
	AlertGeneric             AlertCode = 1226
)

var alertNames = map[AlertCode]string{
	AlertDisplay:             "DISPLAY",
	AlertConfirmOrReject:     "CONFIRM_OR_REJECT",
	AlertTextInput:           "TEXT_INPUT",
	AlertSingleChoice:        "SINGLE_CHOICE",
	AlertMultipleChoice:      "MULTIPLE_CHOICE",
	AlertServerInitiatedMgmt: "SERVER_INITIATED_MGMT",
	AlertClientInitiatedMgmt: "CLIENT_INITIATED_MGMT",
	AlertNextMessage:         "NEXT_MESSAGE",
	AlertSessionAbort:        "SESSION_ABORT",
	AlertClientEvent:         "CLIENT_EVENT",
	AlertNoEndOfData:         "NO_END_OF_DATA",
	AlertGeneric:             "GENERIC_ALERT",
}

// String returns the name of the alert, e.g. "GENERIC_ALERT", or the number.
func (a AlertCode) String() string {
	if s, ok := alertNames[a]; ok {
		return s
	}
	return strconv.Itoa(int(a))
}

// IsUI reports whether a is one of the user-interaction alerts 1100..1104.
func (a AlertCode) IsUI() bool { return a >= AlertDisplay && a <= AlertMultipleChoice }

// Data returns the code as the Data text of an Alert.
func (a AlertCode) Data() string { return strconv.Itoa(int(a)) }

// StatusCode is the Data of a Status command (protocol.md §5.2).
type StatusCode int

// Status codes used by DM 1.2.
const (
	StatusInProgress                  StatusCode = 101
	StatusOK                          StatusCode = 200
	StatusAccepted                    StatusCode = 202
	StatusAuthenticationAccepted      StatusCode = 212
	StatusChunkAccepted               StatusCode = 213
	StatusOperationCancelled          StatusCode = 214
	StatusNotExecuted                 StatusCode = 215
	StatusAtomicRollbackOK            StatusCode = 216
	StatusNotModified                 StatusCode = 304
	StatusBadRequest                  StatusCode = 400
	StatusInvalidCredentials          StatusCode = 401
	StatusForbidden                   StatusCode = 403
	StatusNotFound                    StatusCode = 404
	StatusCommandNotAllowed           StatusCode = 405
	StatusOptionalFeatureNotSupported StatusCode = 406
	StatusMissingCredentials          StatusCode = 407
	StatusRequestTimeout              StatusCode = 408
	StatusIncompleteCommand           StatusCode = 412
	StatusRequestEntityTooLarge       StatusCode = 413
	StatusURITooLong                  StatusCode = 414
	StatusUnsupportedMediaType        StatusCode = 415
	StatusRequestedSizeTooBig         StatusCode = 416
	StatusAlreadyExists               StatusCode = 418
	StatusDeviceFull                  StatusCode = 420
	StatusSizeMismatch                StatusCode = 424
	StatusPermissionDenied            StatusCode = 425
	StatusCommandFailed               StatusCode = 500
	StatusCommandNotImplemented       StatusCode = 501
	StatusServiceUnavailable          StatusCode = 503
	StatusProcessingError             StatusCode = 506
	StatusAtomicFailed                StatusCode = 507
	StatusDataStoreFailure            StatusCode = 510
	StatusAtomicRollbackFailed        StatusCode = 516
	StatusAtomicResponseTooLarge      StatusCode = 517
)

var statusNames = map[StatusCode]string{
	StatusInProgress:                  "In progress",
	StatusOK:                          "OK",
	StatusAccepted:                    "Accepted for processing",
	StatusAuthenticationAccepted:      "Authentication accepted",
	StatusChunkAccepted:               "Chunked item accepted and buffered",
	StatusOperationCancelled:          "Operation cancelled",
	StatusNotExecuted:                 "Not executed",
	StatusAtomicRollbackOK:            "Atomic roll back OK",
	StatusNotModified:                 "Not modified",
	StatusBadRequest:                  "Bad request",
	StatusInvalidCredentials:          "Invalid credentials",
	StatusForbidden:                   "Forbidden",
	StatusNotFound:                    "Not found",
	StatusCommandNotAllowed:           "Command not allowed",
	StatusOptionalFeatureNotSupported: "Optional feature not supported",
	StatusMissingCredentials:          "Missing credentials",
	StatusRequestTimeout:              "Request timeout",
	StatusIncompleteCommand:           "Incomplete command",
	StatusRequestEntityTooLarge:       "Request entity too large",
	StatusURITooLong:                  "URI too long",
	StatusUnsupportedMediaType:        "Unsupported media type or format",
	StatusRequestedSizeTooBig:         "Requested size too big",
	StatusAlreadyExists:               "Already exists",
	StatusDeviceFull:                  "Device full",
	StatusSizeMismatch:                "Size mismatch",
	StatusPermissionDenied:            "Permission denied",
	StatusCommandFailed:               "Command failed",
	StatusCommandNotImplemented:       "Command not implemented",
	StatusServiceUnavailable:          "Service unavailable",
	StatusProcessingError:             "Processing error",
	StatusAtomicFailed:                "Atomic failed",
	StatusDataStoreFailure:            "Data store failure",
	StatusAtomicRollbackFailed:        "Atomic roll back failed",
	StatusAtomicResponseTooLarge:      "Atomic response too large to fit",
}

// String returns the code and its text, e.g. "404 Not found".
func (s StatusCode) String() string {
	if n, ok := statusNames[s]; ok {
		return strconv.Itoa(int(s)) + " " + n
	}
	return strconv.Itoa(int(s))
}

// Text returns the name of the code without the number ("" if unknown).
func (s StatusCode) Text() string { return statusNames[s] }

// Data returns the code as the Data text of a Status.
func (s StatusCode) Data() string { return strconv.Itoa(int(s)) }

// Success reports whether s is a 1xx or 2xx code.
func (s StatusCode) Success() bool { return s >= 100 && s < 300 }
