package oipconv

import (
	inferencepb "github.com/swapwire/swapwire/proto/inference"
)

// Datatype names of the Open Inference Protocol.
const (
	TypeBool   = "BOOL"
	TypeUint8  = "UINT8"
	TypeUint16 = "UINT16"
	TypeUint32 = "UINT32"
	TypeUint64 = "UINT64"
	TypeInt8   = "INT8"
	TypeInt16  = "INT16"
	TypeInt32  = "INT32"
	TypeInt64  = "INT64"
	TypeFP16   = "FP16"
	TypeFP32   = "FP32"
	TypeFP64   = "FP64"
	TypeBF16   = "BF16"
	TypeBytes  = "BYTES"
)

// family says how a datatype is decoded.
type family uint8

const (
	famUnsupported family = iota
	famSigned             // ints from a signed integer
	famUnsigned           // ints from an unsigned integer
	famFloat              // floats
	famBytes              // text, strings or bytes
)

// dtype describes one datatype: its element size in raw contents (0 for
// BYTES, whose elements are length-prefixed), how it decodes, and the typed
// contents field that carries it.
type dtype struct {
	name   string
	size   int
	fam    family
	field  string // name of the InferTensorContents field, for messages
	minInt int64  // range of typed integer contents
	maxInt int64
}

var dtypes = []dtype{
	{TypeInt8, 1, famSigned, "int_contents", -1 << 7, 1<<7 - 1},
	{TypeInt16, 2, famSigned, "int_contents", -1 << 15, 1<<15 - 1},
	{TypeInt32, 4, famSigned, "int_contents", -1 << 31, 1<<31 - 1},
	{TypeInt64, 8, famSigned, "int64_contents", -1 << 63, 1<<63 - 1},
	{TypeUint8, 1, famUnsigned, "uint_contents", 0, 1<<8 - 1},
	{TypeUint16, 2, famUnsigned, "uint_contents", 0, 1<<16 - 1},
	{TypeUint32, 4, famUnsigned, "uint_contents", 0, 1<<32 - 1},
	{TypeUint64, 8, famUnsigned, "uint64_contents", 0, 1<<63 - 1},
	{TypeFP32, 4, famFloat, "fp32_contents", 0, 0},
	{TypeFP64, 8, famFloat, "fp64_contents", 0, 0},
	{TypeBytes, 0, famBytes, "bytes_contents", 0, 0},
	{TypeBool, 1, famUnsupported, "bool_contents", 0, 0},
	{TypeFP16, 2, famUnsupported, "", 0, 0},
	{TypeBF16, 2, famUnsupported, "", 0, 0},
}

func lookupDtype(name string) (dtype, bool) {
	for _, d := range dtypes {
		if d.name == name {
			return d, true
		}
	}
	return dtype{}, false
}

// contentFields lists the typed contents fields with their lengths.
func contentFields(c *inferencepb.InferTensorContents) [8]struct {
	name string
	n    int
} {
	return [8]struct {
		name string
		n    int
	}{
		{"bool_contents", len(c.GetBoolContents())},
		{"int_contents", len(c.GetIntContents())},
		{"int64_contents", len(c.GetInt64Contents())},
		{"uint_contents", len(c.GetUintContents())},
		{"uint64_contents", len(c.GetUint64Contents())},
		{"fp32_contents", len(c.GetFp32Contents())},
		{"fp64_contents", len(c.GetFp64Contents())},
		{"bytes_contents", len(c.GetBytesContents())},
	}
}
