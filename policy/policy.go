// Package policy reads a verifier's policy (POLICY.json, grammar in CLI.md), validates it against
// its schema with messages that name the predicate, and compiles it, for an as-of date, into the
// schema's fixed-width policy vector and its policy hash.
//
// Guarantees: Compile is deterministic (same policy, as-of date and scope give the same vector and
// hash), never emits a predicate the circuit evaluates differently from Evaluate, and refuses what
// the circuit cannot prove: an attribute the schema lacks, an order comparison on a hashed string,
// more predicates, families or set values than the circuit holds, malformed values.
package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/schema"

	"github.com/zkhealth/zkhealth/internal/strictjson"
)

// MaxSize bounds a POLICY.json read from anywhere.
const MaxSize = 64 << 10

// MaxSetValues is the most values one in/not_in predicate may list.
const MaxSetValues = 16

// MaxScopeLen bounds a scope string.
const MaxScopeLen = 256

// ErrInvalid marks every error caused by a malformed or unprovable policy.
var ErrInvalid = errors.New("invalid policy")

// Policy is POLICY.json.
type Policy struct {
	Schema  string   `json:"schema"`
	Scope   string   `json:"scope"`
	Issuers []string `json:"issuers,omitempty"`
	// MaxCredentialAgeDays bounds as_of − issued_on (DESIGN.md, Freshness). Absent: 30 days when
	// the policy has a `none` or a windowed predicate, else unlimited.
	MaxCredentialAgeDays *int        `json:"max_credential_age_days,omitempty"`
	Predicates           []Predicate `json:"predicates"`
}

// Predicate is one criterion: on a scalar attribute (Attribute, Op, Value) or on a list (List,
// Match, Code, optional Value range, at most one of WithinDays (an event window) and
// PresentWithinDays (a state window), and for `exists` optional Status and Verification).
type Predicate struct {
	Attribute         string          `json:"attribute,omitempty"`
	Op                string          `json:"op,omitempty"`
	Value             json.RawMessage `json:"value,omitempty"`
	List              string          `json:"list,omitempty"`
	Match             string          `json:"match,omitempty"`
	Code              []string        `json:"code,omitempty"`
	WithinDays        *int            `json:"within_days,omitempty"`
	PresentWithinDays *int            `json:"present_within_days,omitempty"`
	Status            []string        `json:"status,omitempty"`
	Verification      []string        `json:"verification,omitempty"`
}

// PredicateError names the predicate (by index and as written) that a policy error is about. The
// predicate is the verifier's own criterion, never a credential's value.
type PredicateError struct {
	Index     int
	Predicate string
	Err       error
}

// Error renders "predicate i (as written): what is wrong".
func (e *PredicateError) Error() string {
	return fmt.Sprintf("predicate %d (%s): %v", e.Index, e.Predicate, e.Err)
}

// Unwrap returns the cause, which wraps ErrInvalid.
func (e *PredicateError) Unwrap() error { return e.Err }

// invalidError is a refusal of the policy: its text names the field at fault and what is wrong
// (ErrInvalid's own text is left out, so a message does not say "invalid policy" twice over).
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }
func (e *invalidError) Unwrap() error { return ErrInvalid }

func invalid(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// Parse reads POLICY.json strictly: size-limited, one JSON object, unknown fields refused. It does
// not validate against the schema: Compile does.
func Parse(data []byte) (*Policy, error) {
	if len(data) > MaxSize {
		return nil, invalid("policy larger than %d bytes", MaxSize)
	}
	var p Policy
	if err := strictjson.Unmarshal(data, &p); err != nil {
		return nil, invalid("%v", err)
	}
	return &p, nil
}

// String renders the predicate as written, for messages: it holds only the verifier's own
// criteria, never attribute values of a credential.
func (p Predicate) String() string {
	var b strings.Builder
	if p.List != "" || p.Match != "" {
		fmt.Fprintf(&b, "%s %s %s", p.List, p.Match, strings.Join(p.Code, ","))
		if len(p.Value) > 0 {
			fmt.Fprintf(&b, " value %s", compact(p.Value))
		}
		if p.WithinDays != nil {
			fmt.Fprintf(&b, " within %d days", *p.WithinDays)
		}
		if p.PresentWithinDays != nil {
			fmt.Fprintf(&b, " present within %d days", *p.PresentWithinDays)
		}
		if len(p.Status) > 0 {
			fmt.Fprintf(&b, " status %s", strings.Join(p.Status, ","))
		}
		if len(p.Verification) > 0 {
			fmt.Fprintf(&b, " verification %s", strings.Join(p.Verification, ","))
		}
		return b.String()
	}
	fmt.Fprintf(&b, "%s %s %s", p.Attribute, p.Op, compact(p.Value))
	return b.String()
}

func compact(raw json.RawMessage) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return string(raw)
	}
	return buf.String()
}

// Validate checks the policy against its schema without an as-of date (age bounds are checked
// for shape only). Compile validates fully.
func (p *Policy) Validate() error {
	_, err := p.Compile("2000-01-01")
	return err
}

// SchemaOf returns the policy's schema.
func (p *Policy) SchemaOf() (*schema.Schema, error) {
	s, err := schema.Get(p.Schema)
	if err != nil {
		return nil, invalid("schema: %v", err)
	}
	return s, nil
}

// validIssuers checks the optional list of accepted issuer keys.
func (p *Policy) validIssuers() error {
	for i, is := range p.Issuers {
		if _, err := credential.ParsePublicKey(is); err != nil {
			return invalid("issuers[%d]: %v", i, err)
		}
	}
	return nil
}

// AcceptsIssuer reports whether the policy accepts the issuer key (hex): any issuer when the policy
// lists none.
func (p *Policy) AcceptsIssuer(pubHex string) bool {
	if len(p.Issuers) == 0 {
		return true
	}
	pubHex = strings.TrimPrefix(strings.ToLower(pubHex), "0x")
	for _, is := range p.Issuers {
		if strings.TrimPrefix(strings.ToLower(is), "0x") == pubHex {
			return true
		}
	}
	return false
}
