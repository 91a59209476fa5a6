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
		{"unit without conversion", `{"birth_date":"1976-01-16","sex":"male","observations":[{"code":"4548-4","value":7.5,"unit":"furlongs","date":"2026-10-09"}]}`, "7.5", "observations[0].value", encode.ErrUnknownUnit},
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
