package credential_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
)

// FuzzHolderParse checks Parse never panics, that an accepted file's commitment (when it has one)
// is the secret's, and that an accepted key writes a file Parse reads back to the same key.
func FuzzHolderParse(f *testing.F) {
	k, err := credential.HolderKeyFromHex(strings.Repeat("5a", 32))
	if err != nil {
		f.Fatal(err)
	}
	good, _ := k.MarshalJSON()
	f.Add(good)
	f.Add([]byte(`{"secret": "` + strings.Repeat("ff", 32) + `"}`))
	f.Add([]byte(`{"secret": "0x` + strings.Repeat("00", 32) + `", "commitment": "0x00"}`))
	f.Add([]byte(`{"secret": "` + strings.Repeat("5a", 31) + `", "commitment": ""}`))
	f.Add([]byte(`{"secret": 1}`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := credential.ParseHolderKey(data)
		if err != nil {
			return
		}
		var file credential.HolderKeyFile
		// The first JSON value, as Parse reads it.
		_ = json.NewDecoder(bytes.NewReader(data)).Decode(&file)
		if file.Commitment != "" {
			c, err := fieldhash.ParseHex(file.Commitment)
			if want := k.Commitment(); err != nil || !c.Equal(&want) {
				t.Fatalf("Parse accepted commitment %q for another secret", file.Commitment)
			}
		}
		out, err := k.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		again, err := credential.ParseHolderKey(out)
		if err != nil {
			t.Fatalf("Parse(MarshalJSON(k)): %v", err)
		}
		if again.SecretHex() != k.SecretHex() {
			t.Fatalf("round trip changed the secret")
		}
		a, b := again.Commitment(), k.Commitment()
		if !a.Equal(&b) {
			t.Fatalf("round trip changed the commitment")
		}
	})
}
