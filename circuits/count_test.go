package circuits

import (
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"

	"github.com/zkhealth/zkhealth/schema"
)

var update = flag.Bool("update", false, "rewrite testdata/constraints.csv with the current counts")

// budgets are the R1CS constraint budgets: coverage stays within a 2^14 FFT domain (crossing it
// doubles FFT and H work), clinical within 60,000.
var budgets = map[string]int{"coverage-v1": 1 << 14, "clinical-v1": 60_000}

// TestConstraintCount prints each circuit's R1CS constraint count, checks it against its budget
// and against the golden file testdata/constraints.csv, so that any change in circuit size is
// seen in review (rewrite the file with `go test ./circuits -run ConstraintCount -update`).
func TestConstraintCount(t *testing.T) {
	golden := filepath.Join("testdata", "constraints.csv")
	want := map[string]int{}
	if f, err := os.Open(golden); err == nil {
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows[1:] {
			n, _ := strconv.Atoi(r[1])
			want[r[0]] = n
		}
	}
	out := [][]string{{"circuit", "r1cs_constraints", "budget"}}
	for _, s := range schema.All() {
		cs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, New(s))
		if err != nil {
			t.Fatal(err)
		}
		n := cs.GetNbConstraints()
		t.Logf("%s: %d R1CS constraints (budget %d), %d public inputs", s.Circuit, n, budgets[s.Circuit], cs.GetNbPublicVariables()-1)
		fmt.Printf("constraints %s %d\n", s.Circuit, n)
		if b := budgets[s.Circuit]; n > b {
			t.Errorf("%s: %d constraints, over the budget of %d", s.Circuit, n, b)
		}
		if !*update && want[s.Circuit] != n {
			t.Errorf("%s: %d constraints, golden file says %d (rerun with -update if intended)", s.Circuit, n, want[s.Circuit])
		}
		out = append(out, []string{s.Circuit, strconv.Itoa(n), strconv.Itoa(budgets[s.Circuit])})
	}
	if *update {
		f, err := os.Create(golden)
		if err != nil {
			t.Fatal(err)
		}
		w := csv.NewWriter(f)
		w.WriteAll(out)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
