// Package zkhealth holds the domain errors every zkhealth surface shares: one error type with a
// machine code, so the CLI maps codes to exit codes and the service to HTTP statuses in one place
// each, and messages never carry attribute values or secrets.
package zkhealth

import (
	"errors"
	"fmt"
)

// Error codes.
const (
	// EInvalid: malformed input (a file, a field, a flag); the message names it.
	EInvalid = "invalid_request"
	// ENotSatisfied: the credential does not satisfy the policy; Predicate names the first failing one.
	ENotSatisfied = "policy_not_satisfied"
	// ECredential: the credential cannot back a proof (bad signature, wrong holder, expired,
	// issuer not accepted).
	ECredential = "credential_invalid"
	// ENotFound: an id that names nothing.
	ENotFound = "not_found"
	// EUnavailable: keys or a dependency are missing or down.
	EUnavailable = "unavailable"
	// EExpired: a presentation request past its expiry.
	EExpired = "expired"
	// EOverloaded: the proving queue is full; retry later.
	EOverloaded = "overloaded"
	// EUnauthorized: no API key, or an unknown one.
	EUnauthorized = "unauthorized"
	// EForbidden: the key's role may not call this endpoint.
	EForbidden = "forbidden"
	// ERateLimited: the key exceeded its request rate.
	ERateLimited = "rate_limited"
	// ETooLarge: the request body is over the limit.
	ETooLarge = "body_too_large"
	// EInternal: anything else; its message is not shown to clients.
	EInternal = "internal"
)

// Error is a domain error with a machine code and a one-sentence message safe to show to the
// party that caused it.
type Error struct {
	Code    string
	Message string
	// Predicate is the index of the failing predicate for ENotSatisfied, else -1.
	Predicate int
	Err       error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Predicate: -1}
}

// Wrap returns an *Error with the code whose message is err's.
func Wrap(code string, err error) *Error {
	return &Error{Code: code, Message: err.Error(), Predicate: -1, Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal for any other error and
// "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}
