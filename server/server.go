// Package server is zkhealth's HTTP API (API.md) on Gin. It only translates HTTP to calls of the
// application service and back: bodies are decoded strictly into the service's input types (which
// the service validates), errors are mapped to statuses in one place (errors.go), a known path
// with another method answers 405, and every answer matches the OpenAPI document served at
// /openapi.json (openapi.yaml, embedded).
//
// Middleware, outermost first: request id (X-Request-ID), access log and Prometheus metrics (route
// templates only, never bodies or query values), panic recovery (500 "Internal error"), request
// timeout (through the request's context), body limit (413), and per route: bearer-key auth with
// roles (401/403) and a per-key rate limit (429 with Retry-After). Synchronous proofs pass a
// bounded gate that answers 503 overloaded with Retry-After when full.
package server

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/metrics"
	"github.com/zkhealth/zkhealth/service"
)

//go:embed openapi.yaml
var openAPIYAML []byte

// OpenAPIYAML returns the OpenAPI 3 document the server implements, as written (YAML).
func OpenAPIYAML() []byte { return append([]byte(nil), openAPIYAML...) }

// Defaults.
const (
	DefaultBodyLimit      = 1 << 20
	DefaultRequestTimeout = 60 * time.Second
	DefaultRetryAfter     = 2 * time.Second
	// readyTTL is how long a readiness answer is reused; with readyTimeout it keeps /readyz's
	// view of the store at most 1 s old.
	readyTTL     = 400 * time.Millisecond
	readyTimeout = 500 * time.Millisecond
)

// Role is what an API key may do.
type Role string

// The roles of API.md.
const (
	RoleIssuer   Role = "issuer"
	RoleHolder   Role = "holder"
	RoleVerifier Role = "verifier"
	RoleAdmin    Role = "admin"
)

// Roles lists every role.
func Roles() []Role { return []Role{RoleIssuer, RoleHolder, RoleVerifier, RoleAdmin} }

// ParseRole accepts a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles() {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role %q (issuer, holder, verifier, admin)", s)
}

// Service is what the server calls: package service's *Service implements it. It validates the
// request bodies it takes (package service's input types); its errors are *zkhealth.Error with
// the codes each method's documentation lists.
type Service interface {
	RegisterPolicy(ctx context.Context, raw []byte) (zkhealth.StoredPolicy, error)
	Policy(ctx context.Context, id string) (zkhealth.StoredPolicy, error)
	OpenRequest(ctx context.Context, in service.RequestInput) (zkhealth.PresentationRequest, error)
	Request(ctx context.Context, id string) (zkhealth.PresentationRequest, error)
	Prove(ctx context.Context, in service.ProveInput) (proofJSON []byte, hit bool, err error)
	ProveAsync(ctx context.Context, in service.ProveInput) (string, error)
	Job(ctx context.Context, id string) (zkhealth.Job, error)
	Verify(ctx context.Context, in service.VerifyInput) (service.Verification, error)
	Issue(ctx context.Context, in service.IssueInput) (*credential.Credential, error)
	RegisterIssuer(ctx context.Context, in service.IssuerInput) (zkhealth.Issuer, error)
	Issuers(ctx context.Context) ([]zkhealth.Issuer, error)
	Circuits() []service.Circuit
	VerifyingKey(id string) ([]byte, error)
	Ready(ctx context.Context) error
}

var _ Service = (*service.Service)(nil)

// Deps are the server's collaborators and limits. Service and Keys are required.
type Deps struct {
	Service Service
	// Keys maps API keys to their roles.
	Keys map[string]Role
	// Limiter counts requests per API key; nil for no limit.
	Limiter zkhealth.RateLimiter
	// Metrics receives the HTTP metrics and is served at /metrics (a fresh set when nil).
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// BodyLimit bounds request bodies (default 1 MiB).
	BodyLimit int64
	// RequestTimeout bounds each request through its context (default 60 s).
	RequestTimeout time.Duration
	// MaxPendingProofs bounds synchronous proofs in flight (proving or waiting for a prover); more
	// are refused with 503 overloaded. 0 means no bound.
	MaxPendingProofs int
	// RetryAfter is what a full proving queue tells clients to wait (default 2 s).
	RetryAfter time.Duration
	// Log is the verification log served under /v1/log/ (auditlog.go); nil serves none.
	Log Log
}

// Server is the HTTP API. It is an http.Handler.
type Server struct {
	d       Deps
	engine  *gin.Engine
	keys    map[[32]byte]apiKey
	proving chan struct{} // nil: unbounded
	ready   readiness
	openAPI []byte // JSON
}

type apiKey struct {
	role Role
	id   string // a short hash of the key: the rate-limit key and nothing else
}

// New checks the dependencies, loads the OpenAPI document and builds the routes.
func New(d Deps) (*Server, error) {
	if d.Service == nil {
		return nil, errors.New("server: a service is required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	d.Logger = slog.New(LogHandler(d.Logger.Handler())) // request ids on every record
	if d.Metrics == nil {
		d.Metrics = metrics.New()
	}
	if d.BodyLimit <= 0 {
		d.BodyLimit = DefaultBodyLimit
	}
	if d.RequestTimeout <= 0 {
		d.RequestTimeout = DefaultRequestTimeout
	}
	if d.RetryAfter <= 0 {
		d.RetryAfter = DefaultRetryAfter
	}
	doc, err := openapi3.NewLoader().LoadFromData(openAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("server: openapi document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("server: openapi document: %w", err)
	}
	docJSON, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("server: openapi document: %w", err)
	}
	s := &Server{d: d, keys: map[[32]byte]apiKey{}, openAPI: docJSON}
	for k, r := range d.Keys {
		if k == "" {
			return nil, errors.New("server: an API key is empty")
		}
		if _, err := ParseRole(string(r)); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		sum := sha256.Sum256([]byte(k))
		s.keys[sum] = apiKey{role: r, id: "key:" + hex.EncodeToString(sum[:8])}
	}
	if d.MaxPendingProofs > 0 {
		s.proving = make(chan struct{}, d.MaxPendingProofs)
	}
	s.ready = readiness{check: d.Service.Ready}
	s.engine = s.routes()
	return s, nil
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

func (s *Server) routes() *gin.Engine {
	if gin.Mode() != gin.ReleaseMode {
		gin.SetMode(gin.ReleaseMode) // no route dump on stdout
	}
	e := gin.New()
	e.HandleMethodNotAllowed = true // 405 with Allow for a known path and another method
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.Use(s.requestID, s.observe, s.recoverPanic, s.timeout, s.limitBody)
	e.NoRoute(func(c *gin.Context) {
		s.writeError(c, zkhealth.Errorf(zkhealth.ENotFound, "No such endpoint."))
	})
	e.NoMethod(func(c *gin.Context) {
		s.writeError(c, zkhealth.Errorf(zkhealth.EMethod, "This endpoint does not take %s; see the Allow header.", methodLabel(c.Request.Method)))
	})

	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", s.handleReady)
	metricsHandler := promhttp.HandlerFor(s.d.Metrics.Registry, promhttp.HandlerOpts{})
	e.GET("/metrics", func(c *gin.Context) { metricsHandler.ServeHTTP(c.Writer, c.Request) })
	e.GET("/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", s.openAPI) })

	v1 := e.Group("/v1")
	v1.GET("/circuits", s.handleCircuits)
	v1.GET("/circuits/:id/vk", s.handleVerifyingKey)
	v1.GET("/issuers", s.handleIssuers)
	v1.POST("/issuers", s.require(RoleAdmin), s.handleRegisterIssuer)
	v1.POST("/credentials", s.require(RoleIssuer), s.handleIssue)
	v1.POST("/policies", s.require(RoleVerifier), s.handleRegisterPolicy)
	v1.GET("/policies/:id", s.require(RoleVerifier), s.handlePolicy)
	v1.POST("/requests", s.require(RoleVerifier), s.handleOpenRequest)
	v1.GET("/requests/:id", s.handleRequest)
	v1.POST("/proofs", s.require(RoleHolder), s.handleProve)
	v1.GET("/proofs/jobs/:id", s.require(RoleHolder), s.handleJob)
	v1.POST("/verify", s.require(RoleVerifier), s.handleVerify)
	s.logRoutes(v1)
	return e
}
