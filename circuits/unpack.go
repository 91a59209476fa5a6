package circuits

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark/frontend"

	"github.com/zkhealth/zkhealth/schema"
)

// vector is a layout's fields as circuit variables, each range-checked to its declared width, and
// the packed elements they form.
type vector struct {
	layout *schema.Layout
	fields []frontend.Variable
	packed []frontend.Variable
}

// unpackVector range-checks every narrow field of values to its width (booleans with one
// constraint, wider fields with the range checker) and packs them as the layout says. Because each
// field is checked and an element carries at most schema.PackBits < 253 bits, the packed elements
// have exactly one decomposition: hashing them binds every field. Full fields are not checked;
// only equality is ever proved on them.
func unpackVector(api frontend.API, rc frontend.Rangechecker, layout *schema.Layout, values []frontend.Variable) (*vector, error) {
	if len(values) != len(layout.Fields) {
		return nil, fmt.Errorf("vector has %d values, layout %d fields", len(values), len(layout.Fields))
	}
	v := &vector{layout: layout, fields: values, packed: make([]frontend.Variable, layout.Elements)}
	for i := range v.packed {
		v.packed[i] = 0
	}
	for i, f := range layout.Fields {
		x := values[i]
		switch {
		case f.Bits == 1:
			api.AssertIsBoolean(x)
		case f.Bits > 1:
			rc.Check(x, f.Bits)
		}
		p := layout.Positions[i]
		v.packed[p.Element] = api.Add(v.packed[p.Element], api.Mul(x, new(big.Int).Lsh(big.NewInt(1), uint(p.Offset))))
	}
	return v, nil
}

// get returns the named field.
func (v *vector) get(name string) frontend.Variable { return v.fields[v.layout.Index(name)] }
