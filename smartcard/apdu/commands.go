package apdu

// Select P1 values (ISO 7816-4 §7.1.1).
const (
	SelectByFID      byte = 0x00 // MF, DF or EF by file identifier
	SelectByDFName   byte = 0x04 // by DF name (AID)
	SelectFromMF     byte = 0x08 // by path from the MF (without 3F00)
	SelectFromCurrDF byte = 0x09 // by path from the current DF
)

// Select P2 values.
const (
	SelectFCP  byte = 0x04 // return the FCP template
	SelectNone byte = 0x0C // no response data
)

// Select returns SELECT cla A4 p1 p2 with data and, when the FCP is asked
// for, Le = 256 (00).
func Select(cla, p1, p2 byte, data []byte) Command {
	c := Command{CLA: cla, INS: InsSelect, P1: p1, P2: p2, Data: data, Le: NoLe}
	if p2 == SelectFCP || p2 == 0x00 {
		c.Le = 256
	}
	return c
}

// SelectGSM returns the GSM 11.11 SELECT A0 A4 00 00 02 <fid>.
func SelectGSM(fid uint16) Command {
	return Command{CLA: ClassGSM, INS: InsSelect, Data: []byte{byte(fid >> 8), byte(fid)}, Le: NoLe}
}

// ReadBinary returns READ BINARY at offset (≤ 0x7FFF) for le bytes (1..256).
func ReadBinary(cla byte, offset int, le int) Command {
	return Command{CLA: cla, INS: InsReadBinary, P1: byte(offset>>8) & 0x7F, P2: byte(offset), Le: le}
}

// ReadRecord returns READ RECORD of record n (absolute mode, P2=04) for le
// bytes.
func ReadRecord(cla byte, n int, le int) Command {
	return Command{CLA: cla, INS: InsReadRecord, P1: byte(n), P2: 0x04, Le: le}
}

// OpenChannel returns MANAGE CHANNEL open (the card assigns the channel,
// Le=1) sent on the basic channel.
func OpenChannel() Command {
	return Command{CLA: 0x00, INS: InsManageChannel, P1: 0x00, P2: 0x00, Le: 1}
}

// CloseChannel returns MANAGE CHANNEL close of channel ch, sent on ch.
func CloseChannel(ch int) (Command, error) {
	cla, err := Class(ch)
	if err != nil {
		return Command{}, err
	}
	return Command{CLA: cla, INS: InsManageChannel, P1: 0x80, P2: byte(ch), Le: NoLe}, nil
}
