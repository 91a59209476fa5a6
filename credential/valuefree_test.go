package credential

import (
	"errors"
	"strings"
	"testing"

	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/schema"
)

// TestErrorsAreValueFree: a refused attribute is named, its value never quoted, and the kind of
// fault stays matchable with errors.Is.
func TestErrorsAreValueFree(t *testing.T) {
	for _, tc := range []struct {
		name, attrs, value, field string
		kind                      error
	}{
		{"birth date out of range", `{"birth_date":"1850-01-01","sex":"male"}`, "1850", "birth_date", encode.ErrRange},
		{"bad ICD code", `{"birth_date":"1976-01-16","sex":"male","conditions":[{"code":"Q99999999","onset":"2015-03-01"}]}`, "Q99999999", "conditions[0].code", encode.ErrSyntax},
		{"negative lab value", `{"birth_date":"1976-01-16","sex":"male","observations":[{"code":"4548-4","value":-7.25,"unit":"%","date":"2026-10-09"}]}`, "7.25", "observations[0].value", encode.ErrRange},
		{"unit without conversion", `{"birth_date":"1976-01-16","sex":"male","observations":[{"code":"4548-4","value":7.5,"unit":"furlongs","date":"2026-10-09"}]}`, "7.5", "observations[0].unit", encode.ErrUnknownUnit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseAttributes(schema.Clinical(), []byte(tc.attrs))
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), tc.value) {
				t.Errorf("message quotes the value: %v", err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("field: got %v, want %s", err, tc.field)
			}
			if !errors.Is(err, ErrMalformed) || !errors.Is(err, tc.kind) {
				t.Errorf("errors.Is lost the kind: %v", err)
			}
		})
	}
}

// TestFieldMessages: what each kind of mistake reads like. The CLI and the HTTP API show these
// texts as they are (after the file or body field they are about), so they name the field exactly
// (a bad unit names .unit), use plain words and never quote the value.
func TestFieldMessages(t *testing.T) {
	clin := func(extra string) string { return `{"birth_date": "1976-01-16", "sex": "male"` + extra + `}` }
	for _, tc := range []struct {
		name, attrs, want string
	}{
		{"BirthDate1850", `{"birth_date": "1850-01-01", "sex": "male"}`,
			"birth_date: out of range (want a date YYYY-MM-DD from 1900-01-01 to 2099-12-31)"},
		{"UnknownAttribute", clin(`, "height": "180"`),
			"height: unknown attribute (want an attribute of schema clinical: birth_date, sex, conditions, observations, medications)"},
		{"UnknownEntryField", clin(`, "conditions": [{"code": "E11.9", "onsett": "2015-03-01"}]`),
			"conditions[0].onsett: unknown field"},
		{"BadUnit", clin(`, "observations": [{"code": "4548-4", "value": 7.5, "unit": "furlongs", "date": "2026-10-09"}]`),
			"observations[0].unit: unit without a known conversion (want a unit with a known conversion to the code's canonical unit)"},
		{"ICD10Grammar", clin(`, "conditions": [{"code": "X", "onset": "2015-03-01"}]`),
			"conditions[0].code: malformed (want an ICD-10-CM code)"},
		{"LOINCGrammar", clin(`, "observations": [{"code": "4548-5", "value": 7.5, "unit": "%", "date": "2026-10-09"}]`),
			"observations[0].code: wrong check digit (want a LOINC code)"},
		{"NoCanonicalUnit", clin(`, "observations": [{"code": "38265-5", "value": 1, "unit": "{T-score}", "date": "2026-10-09"}]`),
			"observations[0].code: no canonical unit is known for this LOINC code"},
		{"Enum", `{"birth_date": "1976-01-16", "sex": "robot"}`, "sex: not an allowed value (want one of female, male, other, unknown)"},
		{"WrongType", `{"birth_date": "1976-01-16", "sex": 1}`, "sex: want a string"},
		{"WrongDateField", clin(`, "medications": [{"code": "1", "onset": "2016-01-01"}]`),
			"medications[0].onset: not a field of these entries (want the date in start)"},
		{"MalformedJSON", "{\"birth_date\": \"1976-01-16\",\n}", "attributes: malformed JSON at line 2, column 1: want an object key (a string in double quotes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseAttributes(schema.Clinical(), []byte(tc.attrs))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got  %v\nwant %s", err, tc.want)
			}
		})
	}
}
