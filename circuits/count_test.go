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

// budgets are the R1CS constraint budgets: each rung of a ladder stays within its FFT domain
// (crossing it doubles FFT and H work).
var budgets = map[string]int{
	"coverage-v2-s": 1 << 14, "coverage-v2-l": 1 << 16,
	"clinical-v2-s": 1 << 15, "clinical-v2-m": 1 << 16, "clinical-v2-l": 1 << 17,
}

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
		for _, c := range s.Circuits {
			cs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, New(s, c))
			if err != nil {
				t.Fatal(err)
			}
			n := cs.GetNbConstraints()
			t.Logf("%s: %d R1CS constraints (budget %d), %d public inputs", c.ID, n, budgets[c.ID], cs.GetNbPublicVariables()-1)
			fmt.Printf("constraints %s %d\n", c.ID, n)
			if b := budgets[c.ID]; n > b {
				t.Errorf("%s: %d constraints, over the budget of %d", c.ID, n, b)
			}
			if !*update && want[c.ID] != n {
				t.Errorf("%s: %d constraints, golden file says %d (rerun with -update if intended)", c.ID, n, want[c.ID])
			}
			out = append(out, []string{c.ID, strconv.Itoa(n), strconv.Itoa(budgets[c.ID])})
		}
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
