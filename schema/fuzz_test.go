package schema

import (
	"fmt"
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// fuzzLayout builds a layout from fuzz bytes: one field per byte of widths (at most 64), width
// the byte value, a byte above PackBits meaning a full field.
func fuzzLayout(widths []byte) *Layout {
	widths = widths[:min(len(widths), 64)]
	fields := make([]Field, len(widths))
	for i, w := range widths {
		bits := int(w)
		if bits > PackBits {
			bits = 0
		}
		fields[i] = Field{Name: fmt.Sprint("f", i), Bits: bits}
	}
	return NewLayout(fields)
}

// fuzzValues cuts raw into one value per field: a length byte (low 6 bits: 0..33 bytes of value,
// bit 6: negate, bit 7: the modulus plus the value) then the value's bytes. Missing bytes read as
// zero.
func fuzzValues(n int, raw []byte) []*big.Int {
	next := func() byte {
		if len(raw) == 0 {
			return 0
		}
		b := raw[0]
		raw = raw[1:]
		return b
	}
	vals := make([]*big.Int, n)
	for i := range vals {
		head := next()
		size := int(head&0x3f) % 34
		buf := make([]byte, size)
		for j := range buf {
			buf[j] = next()
		}
		v := new(big.Int).SetBytes(buf)
		if head&0x80 != 0 {
			v.Add(v, fr.Modulus())
		}
		if head&0x40 != 0 {
			v.Neg(v)
		}
		vals[i] = v
	}
	return vals
}

// FuzzLayoutPack checks NewLayout's invariants for random widths, and that Pack never panics and
// accepts exactly when every value is non-negative and fits its field (narrow: at most Bits bits;
// full: below the modulus), in which case every field unpacks to its value and every element is a
// canonical scalar.
func FuzzLayoutPack(f *testing.F) {
	f.Add([]byte{8, 0, 8, 1}, []byte{1, 1, 1, 7, 1, 2, 1, 1})
	f.Add([]byte{248, 1, 0}, []byte{31, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00})
	f.Add([]byte{0}, []byte{0x80})                          // the modulus itself in a full field
	f.Add([]byte{17, 17, 128, 40, 40}, []byte{0x41, 1})     // a negative value
	f.Add([]byte{255, 200, 49, 48}, []byte{2, 1, 0, 25, 1}) // an element boundary
	f.Add([]byte{}, []byte{})
	modulus := fr.Modulus()
	f.Fuzz(func(t *testing.T, widths, raw []byte) {
		l := fuzzLayout(widths)
		checkLayout(t, l)
		vals := fuzzValues(len(l.Fields), raw)
		fits := true
		for i, fd := range l.Fields {
			v := vals[i]
			switch {
			case v.Sign() < 0:
				fits = false
			case fd.Bits == 0 && v.Cmp(modulus) >= 0:
				fits = false
			case fd.Bits > 0 && v.BitLen() > fd.Bits:
				fits = false
			}
		}
		packed, err := l.Pack(vals)
		if (err == nil) != fits {
			t.Fatalf("Pack(%v) over %v: err = %v, values fit = %v", vals, l.Fields, err, fits)
		}
		if err != nil {
			return
		}
		if len(packed) != l.Elements {
			t.Fatalf("Pack returned %d elements, layout has %d", len(packed), l.Elements)
		}
		for e, p := range packed {
			if p.Sign() < 0 || p.Cmp(modulus) >= 0 {
				t.Fatalf("element %d = %v is not canonical", e, p)
			}
		}
		for i := range l.Fields {
			if got := unpack(l, packed, i); got.Cmp(vals[i]) != 0 {
				t.Fatalf("field %v unpacks to %v, want %v", l.Fields[i], got, vals[i])
			}
		}
		// Packing is injective on accepted inputs: flipping one bit of one narrow value changes
		// its element.
		for i, fd := range l.Fields {
			if fd.Bits == 0 {
				continue
			}
			alt := append([]*big.Int(nil), vals...)
			alt[i] = new(big.Int).Xor(vals[i], big.NewInt(1))
			p2, err := l.Pack(alt)
			if err != nil {
				t.Fatalf("Pack refused a one-bit change of field %v: %v", fd, err)
			}
			e := l.Positions[i].Element
			if p2[e].Cmp(packed[e]) == 0 {
				t.Fatalf("changing field %v leaves element %d unchanged", fd, e)
			}
			break
		}
	})
}
