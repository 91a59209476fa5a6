package encode

import (
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// loincCSV is the shipped canonical unit table; its header comments give the column meanings and
// the sources of every row.
//
//go:embed loinc_units.csv
var loincCSV string

// loincHeader is the table's header row.
const loincHeader = "loinc,name,unit,scale,max,aliases,conversions,source"

// maxScale is the largest scale a row may have: 10^9 is the largest power of ten below 2^32.
const maxScale = 9

// loincEntry is one row of the canonical unit table.
type loincEntry struct {
	Canonical
	// max is the largest value in the canonical unit the row is sized for, as written.
	max string
	// aliases are spellings of the canonical unit accepted for this code only.
	aliases map[string]bool
	// from maps the UCUM spelling of a source unit to its conversion to the canonical unit.
	from map[string]conversion
}

// conversion is an affine, strictly increasing map from a value in a source unit to the
// canonical unit: (x + pre) op factor + post, where op is × or ÷ and at most one of pre and post
// is non-zero. Each step is rounded to float64 on its own (no fused multiply-add), so the result
// is the same on every architecture.
type conversion struct {
	expr   string  // as written in the table
	pre    float64 // added to x before the factor
	factor float64 // > 0
	divide bool    // op is ÷
	post   float64 // added after the factor
}

// apply converts x, a value in the source unit.
func (c conversion) apply(x float64) float64 {
	v := float64(x + c.pre)
	if c.divide {
		v = float64(v / c.factor)
	} else {
		v = float64(v * c.factor)
	}
	return float64(v + c.post)
}

// loincTable is the parsed table, keyed by LOINC code. Built once at init, never mutated.
var loincTable = mustParseLOINCTable(loincCSV, unitAliases)

// mustParseLOINCTable parses the embedded table; malformed shipped data is a build defect, so it
// panics at init (TestLOINCTableData parses the same data).
func mustParseLOINCTable(data string, global map[string]string) map[string]loincEntry {
	m, err := parseLOINCTable(data, global)
	if err != nil {
		panic("encode: shipped LOINC canonical unit table: " + err.Error())
	}
	return m
}

// errTable marks a malformed canonical unit table.
var errTable = errors.New("malformed canonical unit table")

// parseLOINCTable reads the table (format: the header comments of loinc_units.csv) and checks it
// against the global aliases: every code is a valid LOINC code written canonically and appears
// once; every row has a name, a unit, a scale in [0, maxScale], a max that fits ValueBits at that
// scale and a source; every conversion parses and is strictly increasing; a spelling is either a
// UCUM unit of the table, a global alias or a per-code alias, and means one unit wherever it is
// accepted (checkSpellings); every global alias names a unit some row uses.
func parseLOINCTable(data string, global map[string]string) (map[string]loincEntry, error) {
	r := csv.NewReader(strings.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = len(strings.Split(loincHeader, ","))
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: header: %w", errTable, err)
	}
	if strings.Join(header, ",") != loincHeader {
		return nil, fmt.Errorf("%w: header %q, want %q", errTable, strings.Join(header, ","), loincHeader)
	}
	m := map[string]loincEntry{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errTable, err)
		}
		e, err := parseLOINCRow(rec)
		if err != nil {
			line, _ := r.FieldPos(0)
			return nil, fmt.Errorf("%w: line %d (%s): %w", errTable, line, rec[0], err)
		}
		if _, dup := m[e.LOINC]; dup {
			return nil, fmt.Errorf("%w: LOINC %s: listed twice", errTable, e.LOINC)
		}
		m[e.LOINC] = e
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("%w: no rows", errTable)
	}
	if err := checkSpellings(m, global); err != nil {
		return nil, fmt.Errorf("%w: %w", errTable, err)
	}
	return m, nil
}

// parseLOINCRow reads one row.
func parseLOINCRow(rec []string) (loincEntry, error) {
	for i, f := range rec {
		if f != strings.TrimSpace(f) {
			return loincEntry{}, fmt.Errorf("column %d: surrounding spaces", i+1)
		}
	}
	code, name, unit, scale, max, aliases, conversions, source := rec[0], rec[1], rec[2], rec[3], rec[4], rec[5], rec[6], rec[7]
	if _, err := LOINC(code); err != nil { // LOINC accepts only the canonical spelling
		return loincEntry{}, err
	}
	if name == "" || unit == "" || source == "" {
		return loincEntry{}, errors.New("name, unit and source are required")
	}
	sc, err := strconv.Atoi(scale)
	if err != nil || sc < 0 || sc > maxScale || strconv.Itoa(sc) != scale {
		return loincEntry{}, fmt.Errorf("scale %q: want an integer in [0, %d]", scale, maxScale)
	}
	if f, err := fixedRat(max, sc, RoundUp); err != nil || f == 0 {
		return loincEntry{}, fmt.Errorf("max %q: want a positive decimal with max × 10^%d at most 2^%d-1", max, sc, ValueBits)
	}
	e := loincEntry{Canonical: Canonical{LOINC: code, Name: name, Unit: unit, Scale: sc}, max: max, aliases: map[string]bool{}, from: map[string]conversion{}}
	for _, a := range splitList(aliases) {
		if a == "" || a == unit || e.aliases[a] {
			return loincEntry{}, fmt.Errorf("alias %q: empty, the canonical unit or repeated", a)
		}
		e.aliases[a] = true
	}
	for _, c := range splitList(conversions) {
		src, expr, ok := strings.Cut(c, "=")
		if !ok || src == "" || src == unit || e.aliases[src] {
			return loincEntry{}, fmt.Errorf("conversion %q: want unit=expression from a unit other than the canonical unit or an alias", c)
		}
		if _, dup := e.from[src]; dup {
			return loincEntry{}, fmt.Errorf("conversion from %q: repeated", src)
		}
		cv, err := parseConversion(expr)
		if err != nil {
			return loincEntry{}, fmt.Errorf("conversion from %q: %w", src, err)
		}
		e.from[src] = cv
	}
	return e, nil
}

// splitList splits a ";"-separated column; an empty column is an empty list.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ";")
}

// conversionSyntax is the grammar of a conversion: "x" or "(x±B)", then "*F" or "/F", then an
// optional "±B". Groups: 1 pre sign, 2 pre, 3 op, 4 factor, 5 post sign, 6 post.
var conversionSyntax = regexp.MustCompile(`^(?:x|\(x([+-])(` + decimalPattern + `)\))([*/])(` + decimalPattern + `)(?:([+-])(` + decimalPattern + `))?$`)

// decimalPattern is an unsigned decimal number without exponent.
const decimalPattern = `(?:0|[1-9][0-9]*)(?:\.[0-9]+)?`

// parseConversion reads an expression of conversionSyntax.
func parseConversion(expr string) (conversion, error) {
	g := conversionSyntax.FindStringSubmatch(expr)
	if g == nil {
		return conversion{}, fmt.Errorf("expression %q: want x*F, x/F, x*F+B, x/F-B, (x-B)*F, (x+B)/F ...", expr)
	}
	if g[2] != "" && g[6] != "" {
		return conversion{}, fmt.Errorf("expression %q: an offset before or after the factor, not both", expr)
	}
	num := func(sign, s string) float64 {
		if s == "" {
			return 0
		}
		f, _ := strconv.ParseFloat(s, 64) // the grammar admits only decimals that parse
		if sign == "-" {
			f = -f
		}
		return f
	}
	c := conversion{expr: expr, pre: num(g[1], g[2]), factor: num("", g[4]), divide: g[3] == "/", post: num(g[5], g[6])}
	if c.factor == 0 {
		return conversion{}, fmt.Errorf("expression %q: factor 0 is not a conversion", expr)
	}
	return c, nil
}

// checkSpellings checks that every unit spelling means one unit wherever it is accepted: a
// global alias is not a UCUM unit of the table nor a per-code alias, and it names a unit some row
// uses (as its canonical unit or a conversion source). A per-code alias may be another code's
// unit ("{nominal}" is specific gravity's {SG} but the unit of a note code): it is read only for
// its own code, whose units it never is (parseLOINCRow).
func checkSpellings(m map[string]loincEntry, global map[string]string) error {
	ucum := map[string]bool{}
	perCode := map[string]string{}
	for _, e := range m {
		ucum[e.Unit] = true
		for u := range e.from {
			ucum[u] = true
		}
		for a := range e.aliases {
			perCode[a] = e.LOINC
		}
	}
	for a, u := range global {
		switch {
		case ucum[a]:
			return fmt.Errorf("global alias %q is a unit of the table", a)
		case perCode[a] != "":
			return fmt.Errorf("global alias %q is also an alias of LOINC %s", a, perCode[a])
		case !ucum[u]:
			return fmt.Errorf("global alias %q names %q, a unit no row uses", a, u)
		}
	}
	return nil
}
