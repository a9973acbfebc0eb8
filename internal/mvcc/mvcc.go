// Package mvcc defines the multi-version data model shared by the disk engine
// and the in-memory cache: versioned keys, their order-preserving byte
// encoding for Pebble, region descriptors and key-range helpers.
//
// Ordering everywhere is user key ascending (bytewise), then timestamp
// descending, so the first version found at or after (key, ts) is the newest
// version visible to a read at ts.
package mvcc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// MaxTS is the highest timestamp; a read at MaxTS sees the newest version.
const MaxTS = math.MaxUint64

// Version is one version of a user key: a value written at Ts, or a delete
// marker (Tombstone) that hides every older version.
type Version struct {
	Key       []byte
	Ts        uint64
	Value     []byte
	Tombstone bool
}

// Mutation is one write in a batch: a put or a delete marker.
type Mutation = Version

// KV is one visible key and its value, as a scan returns it (from the disk
// engine or from memory).
type KV struct {
	Key, Value []byte
}

// ErrCorrupt reports an encoded key or value that this package did not write.
var ErrCorrupt = errors.New("regioncache: corrupt MVCC encoding")

// The user key is escaped so that the encoding sorts like the raw bytes:
// 0x00 becomes 0x00 0xFF and the key ends with 0x00 0x01. Any byte of a longer
// key that shares the prefix is >= 0x00 0xFF > 0x00 0x01, so shorter keys sort
// first, as bytewise order requires.
const (
	escapeByte  = 0x00
	escapedZero = 0xFF
	terminator  = 0x01
	tsLen       = 8
)

// AppendUserKey appends the escaped, terminated form of key to dst.
func AppendUserKey(dst, key []byte) []byte {
	for {
		i := bytes.IndexByte(key, escapeByte)
		if i < 0 {
			dst = append(dst, key...)
			break
		}
		dst = append(dst, key[:i+1]...)
		dst = append(dst, escapedZero)
		key = key[i+1:]
	}
	return append(dst, escapeByte, terminator)
}

// EncodeKey returns the Pebble key of (key, ts).
func EncodeKey(key []byte, ts uint64) []byte {
	return AppendKey(make([]byte, 0, len(key)+2+tsLen+2), key, ts)
}

// AppendKey appends the Pebble key of (key, ts) to dst.
func AppendKey(dst, key []byte, ts uint64) []byte {
	dst = AppendUserKey(dst, key)
	return binary.BigEndian.AppendUint64(dst, math.MaxUint64-ts)
}

// KeyBound returns the smallest encoded key of any version of key: the
// inclusive lower bound (or exclusive upper bound) of a range starting at key.
func KeyBound(key []byte) []byte {
	return AppendUserKey(make([]byte, 0, len(key)+2), key)
}

// DecodeKey splits an encoded key into the user key (appended to dst) and ts.
func DecodeKey(dst, enc []byte) (key []byte, ts uint64, err error) {
	if len(enc) < 2+tsLen {
		return nil, 0, fmt.Errorf("%w: key of %d bytes", ErrCorrupt, len(enc))
	}
	body, tail := enc[:len(enc)-tsLen], enc[len(enc)-tsLen:]
	key = dst
	for {
		i := bytes.IndexByte(body, escapeByte)
		if i < 0 || i+1 >= len(body) {
			return nil, 0, fmt.Errorf("%w: unterminated key", ErrCorrupt)
		}
		key = append(key, body[:i]...)
		switch body[i+1] {
		case escapedZero:
			key = append(key, escapeByte)
			body = body[i+2:]
		case terminator:
			if i+2 != len(body) {
				return nil, 0, fmt.Errorf("%w: bytes after terminator", ErrCorrupt)
			}
			return key, math.MaxUint64 - binary.BigEndian.Uint64(tail), nil
		default:
			return nil, 0, fmt.Errorf("%w: bad escape 0x%02x", ErrCorrupt, body[i+1])
		}
	}
}

// DecodeKeyNoCopy is DecodeKey without a copy where it can: when the user
// key has no zero byte (nothing escaped) key aliases enc; otherwise it is
// decoded into dst as DecodeKey does. A loader decoding many keys that it
// copies anyway saves a copy of each.
func DecodeKeyNoCopy(dst, enc []byte) (key []byte, ts uint64, err error) {
	n := len(enc) - tsLen - 2 // the user key's length when nothing is escaped
	if n >= 0 && enc[n] == escapeByte && enc[n+1] == terminator && bytes.IndexByte(enc[:n], escapeByte) < 0 {
		return enc[:n:n], math.MaxUint64 - binary.BigEndian.Uint64(enc[n+2:]), nil
	}
	return DecodeKey(dst, enc)
}

const (
	kindPut    = 'P'
	kindDelete = 'D'
)

// EncodeValue returns the Pebble value of a version.
func EncodeValue(v Version) []byte {
	if v.Tombstone {
		return []byte{kindDelete}
	}
	out := make([]byte, 1+len(v.Value))
	out[0] = kindPut
	copy(out[1:], v.Value)
	return out
}

// DecodeValue returns the value and whether the version is a delete marker.
// The value aliases enc.
func DecodeValue(enc []byte) (value []byte, tombstone bool, err error) {
	if len(enc) == 0 {
		return nil, false, fmt.Errorf("%w: empty value", ErrCorrupt)
	}
	switch enc[0] {
	case kindPut:
		return enc[1:], false, nil
	case kindDelete:
		if len(enc) != 1 {
			return nil, false, fmt.Errorf("%w: delete marker with payload", ErrCorrupt)
		}
		return nil, true, nil
	default:
		return nil, false, fmt.Errorf("%w: unknown kind 0x%02x", ErrCorrupt, enc[0])
	}
}

// VersionsUpperBound returns an exclusive upper bound of every encoded version
// of key and of nothing else: the key's prefix followed by bytes above any
// timestamp suffix. Any longer user key continues its prefix with 0x00 0xFF
// or a byte above 0x00, so it sorts after the bound.
func VersionsUpperBound(key []byte) []byte {
	b := KeyBound(key)
	for i := 0; i <= tsLen; i++ {
		b = append(b, 0xFF)
	}
	return b
}
