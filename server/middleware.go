package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/zkhealth/zkhealth"
)

// Keys of values the middleware leaves on the gin context for the access log.
const (
	ctxErrCode = "zkhealth.err_code"
	ctxRole    = "zkhealth.role"
)

// ctxKey is the type of this package's context keys.
type ctxKey int

const requestIDKey ctxKey = iota

// RequestID returns the request id the server gave ctx's request, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// WithRequestID returns ctx carrying a request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// LogHandler wraps h so records logged with a request's context carry its request_id: the
// application's logger uses it so service logs can be matched to the access log.
// Wrapping twice adds nothing.
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(requestIDHandler); ok {
		return h
	}
	return requestIDHandler{h}
}

type requestIDHandler struct{ slog.Handler }

// Handle adds the request id of ctx, if any, to the record.
func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// validRequestID accepts a caller's X-Request-ID: 1 to 64 letters, digits, '.', '_' or '-'.
func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// requestID takes a well-formed X-Request-ID or makes one, echoes it and puts it in the context.
func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-ID")
	if !validRequestID(id) {
		id = newRequestID()
	}
	c.Header("X-Request-ID", id)
	c.Request = c.Request.WithContext(WithRequestID(c.Request.Context(), id))
	c.Next()
}

// routeLabel is the route template, OpenAPI style ("/v1/requests/{id}"), or "unmatched".
func routeLabel(full string) string {
	if full == "" {
		return "unmatched"
	}
	parts := strings.Split(full, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// observe counts and times the request and writes one access-log line: method, route template,
// status, duration, request id, role and error code. Never a body, a path value or a query value.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	d := time.Since(start)
	route, method, status := routeLabel(c.FullPath()), methodLabel(c.Request.Method), c.Writer.Status()
	s.d.Metrics.Requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	s.d.Metrics.Latency.WithLabelValues(route, method).Observe(d.Seconds())
	attrs := []slog.Attr{
		slog.String("method", method),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
	} // the logger adds request_id from the context
	if r, ok := c.Get(ctxRole); ok {
		attrs = append(attrs, slog.String("role", string(r.(Role))))
	}
	if code, ok := c.Get(ctxErrCode); ok {
		attrs = append(attrs, slog.String("err_code", code.(string)))
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelWarn
	}
	s.d.Logger.LogAttrs(context.WithoutCancel(c.Request.Context()), level, "http request", attrs...)
}

// recoverPanic turns a panic into 500 "Internal error"; the panic value is not logged (it may
// hold anything), only where it happened.
func (s *Server) recoverPanic(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			s.d.Logger.LogAttrs(context.WithoutCancel(c.Request.Context()), slog.LevelError, "panic in handler",
				slog.String("route", routeLabel(c.FullPath())))
			s.writeError(c, zkhealth.Errorf(zkhealth.EInternal, "panic"))
		}
	}()
	c.Next()
}

// timeout bounds the request through its context.
func (s *Server) timeout(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.d.RequestTimeout)
	defer cancel()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

// limitBody refuses a declared body over the limit at once and caps the rest while reading.
func (s *Server) limitBody(c *gin.Context) {
	if c.Request.ContentLength > s.d.BodyLimit {
		s.writeError(c, tooLarge(s.d.BodyLimit))
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.d.BodyLimit)
	c.Next()
}

func tooLarge(limit int64) *zkhealth.Error {
	return zkhealth.Errorf(zkhealth.ETooLarge, "The request body is larger than %d bytes.", limit)
}

// bearer extracts the key of an "Authorization: Bearer <key>" header.
func bearer(h string) (string, bool) {
	scheme, key, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	key = strings.TrimSpace(key)
	return key, key != ""
}

// require admits requests whose bearer key has the role: 401 without a known key, 429 over the
// key's rate, 403 for another role.
func (s *Server) require(role Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		key, ok := bearer(c.GetHeader("Authorization"))
		if !ok {
			c.Header("WWW-Authenticate", `Bearer realm="zkhealth"`)
			s.writeError(c, zkhealth.Errorf(zkhealth.EUnauthorized, "An API key is required (Authorization: Bearer KEY)."))
			return
		}
		k, ok := s.keys[sha256.Sum256([]byte(key))]
		if !ok {
			c.Header("WWW-Authenticate", `Bearer realm="zkhealth", error="invalid_token"`)
			s.writeError(c, zkhealth.Errorf(zkhealth.EUnauthorized, "Unknown API key."))
			return
		}
		c.Set(ctxRole, k.role)
		if s.d.Limiter != nil {
			ok, after, err := s.d.Limiter.Allow(c.Request.Context(), k.id)
			switch {
			case err != nil:
				// The limiter protects capacity, it is not a security boundary: when its store
				// is down the request goes on (and fails on its own if it needs the store).
				s.d.Logger.WarnContext(c.Request.Context(), "rate limiter unavailable", "err_code", zkhealth.ErrorCode(err))
			case !ok:
				s.writeError(c, withRetryAfter(zkhealth.Errorf(zkhealth.ERateLimited, "Too many requests for this API key; retry later."), after))
				return
			}
		}
		if k.role != role {
			s.writeError(c, zkhealth.Errorf(zkhealth.EForbidden, "This endpoint needs an API key with the %s role.", role))
			return
		}
		c.Next()
	}
}
