package strictjson

import (
	"errors"
	"testing"
)

func TestUnmarshal(t *testing.T) {
	type doc struct {
		A string         `json:"a"`
		B map[string]int `json:"b"`
	}
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"OK", `{"a":"x","b":{"k":1}}`, true},
		{"OKTrailingWhitespace", "{\"a\":\"x\"} \n\t", true},
		{"ErrUnknownField", `{"a":"x","c":1}`, false},
		{"ErrDuplicateKey", `{"a":"x","a":"y"}`, false},
		{"ErrDuplicateKeyOtherCase", `{"a":"x","A":"y"}`, false},
		{"ErrNestedDuplicate", `{"b":{"k":1,"k":2}}`, false},
		{"ErrStrayBracket", `{"a":"x"}]`, false},
		{"ErrStrayBrace", `{"a":"x"}}`, false},
		{"ErrSecondValue", `{"a":"x"} {"a":"y"}`, false},
		{"ErrNotJSON", `{"a":`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d doc
			err := Unmarshal([]byte(tc.in), &d)
			if (err == nil) != tc.ok {
				t.Fatalf("Unmarshal(%s) = %v, want ok=%v", tc.in, err, tc.ok)
			}
		})
	}
	var d doc
	if err := Unmarshal([]byte(`{"a":"x","a":"y"}`), &d); !errors.Is(err, ErrDuplicateKey) {
		t.Errorf("duplicate key: %v", err)
	}
}

func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte(`{"a":"x","b":{"k":1}}`))
	f.Add([]byte(`{"a":"x","a":"y"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var v map[string]any
		if Unmarshal(data, &v) == nil && HasDuplicateKeys(data) {
			t.Fatal("accepted a document with a repeated key")
		}
	})
}
