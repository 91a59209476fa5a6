package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/zkhealth/zkhealth"
)

// codes maps every zkhealth error code to its HTTP status: the one place that does.
var codes = map[string]int{
	zkhealth.EInvalid:      http.StatusBadRequest,
	zkhealth.EUnauthorized: http.StatusUnauthorized,
	zkhealth.EForbidden:    http.StatusForbidden,
	zkhealth.ENotFound:     http.StatusNotFound,
	zkhealth.EExpired:      http.StatusGone,
	zkhealth.ETooLarge:     http.StatusRequestEntityTooLarge,
	zkhealth.EMethod:       http.StatusMethodNotAllowed,
	zkhealth.ENotSatisfied: http.StatusUnprocessableEntity,
	zkhealth.ECredential:   http.StatusUnprocessableEntity,
	zkhealth.ERateLimited:  http.StatusTooManyRequests,
	zkhealth.EOverloaded:   http.StatusServiceUnavailable,
	zkhealth.EUnavailable:  http.StatusServiceUnavailable,
	zkhealth.EInternal:     http.StatusInternalServerError,
}

// internalMessage is all a client ever sees of an internal error.
const internalMessage = "Internal error"

// StatusOf returns the HTTP status for an error code (500 for an unknown code).
func StatusOf(code string) int {
	if s, ok := codes[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// errorBody is the JSON every error answers with.
type errorBody struct {
	Error zkhealth.ErrorBody `json:"error"`
}

// retryAfterError carries how long a client should wait (rate limits, a full queue).
type retryAfterError struct {
	err   *zkhealth.Error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// withRetryAfter attaches a Retry-After to a domain error.
func withRetryAfter(e *zkhealth.Error, after time.Duration) error {
	return &retryAfterError{err: e, after: after}
}

// render turns err into its code, status and client-safe message. A deadline or a cancelled
// request is "unavailable" (the request timed out); any error without a zkhealth code is internal.
func render(err error) (code string, status int, msg string) {
	var ze *zkhealth.Error
	switch {
	case errors.As(err, &ze):
		code, msg = ze.Code, ze.Message
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		code, msg = zkhealth.EUnavailable, "The request timed out."
	default:
		code = zkhealth.EInternal
	}
	status = StatusOf(code)
	if status == http.StatusInternalServerError {
		code, msg = zkhealth.EInternal, internalMessage
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return code, status, msg
}

// writeError answers with err's status and {"error":{"code","message"}}; a Retry-After comes from a
// retryAfterError (or defaults to 1 s for overloaded). Internal errors are logged by code and Go
// type only: their text may carry anything.
func (s *Server) writeError(c *gin.Context, err error) {
	code, status, msg := render(err)
	var ra *retryAfterError
	switch {
	case errors.As(err, &ra):
		c.Header("Retry-After", retryAfterSeconds(ra.after))
	case code == zkhealth.EOverloaded:
		c.Header("Retry-After", retryAfterSeconds(s.d.RetryAfter))
	}
	if status >= 500 {
		s.d.Logger.LogAttrs(c.Request.Context(), slog.LevelError, "request failed",
			slog.String("err_code", code), slog.String("err_type", rootType(err)))
	}
	c.Set(ctxErrCode, code)
	c.AbortWithStatusJSON(status, errorBody{Error: zkhealth.ErrorBody{Code: code, Message: msg}})
}

// retryAfterSeconds renders a duration as whole seconds, at least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// rootType names the Go type of the innermost error of err's chain (never its text).
func rootType(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return fmt.Sprintf("%T", err)
		}
		err = next
	}
}
