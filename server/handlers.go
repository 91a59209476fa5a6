package server

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/fhir"
	"github.com/zkhealth/zkhealth/service"
)

// readiness caches the store's answer so /readyz's view is at most about readyTTL+readyTimeout
// (under 1 s) old, and a store that comes back is seen again within that time.
type readiness struct {
	check func(context.Context) error

	mu  sync.Mutex
	at  time.Time
	err error
}

func (r *readiness) get() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.at.IsZero() && time.Since(r.at) < readyTTL {
		return r.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	r.err = r.check(ctx)
	r.at = time.Now()
	return r.err
}

func (s *Server) handleReady(c *gin.Context) {
	if err := s.ready.get(); err != nil {
		s.writeError(c, zkhealth.Errorf(zkhealth.EUnavailable, "The store does not answer."))
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

func (s *Server) handleCircuits(c *gin.Context) {
	cs := s.d.Service.Circuits()
	if cs == nil {
		cs = []service.Circuit{}
	}
	c.JSON(http.StatusOK, cs)
}

func (s *Server) handleVerifyingKey(c *gin.Context) {
	vk, err := s.d.Service.VerifyingKey(c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.Data(http.StatusOK, "application/octet-stream", vk)
}

func (s *Server) handleIssuers(c *gin.Context) {
	is, err := s.d.Service.Issuers(c.Request.Context())
	if err != nil {
		s.writeError(c, err)
		return
	}
	if is == nil {
		is = []zkhealth.Issuer{}
	}
	c.JSON(http.StatusOK, is)
}

func (s *Server) handleRegisterIssuer(c *gin.Context) {
	var in service.IssuerInput
	if err := s.decode(c.Request, &in); err != nil {
		s.writeError(c, err)
		return
	}
	is, err := s.d.Service.RegisterIssuer(c.Request.Context(), in)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, is)
}

func (s *Server) handleIssue(c *gin.Context) {
	var in service.IssueInput
	if err := s.decode(c.Request, &in); err != nil {
		s.writeError(c, err)
		return
	}
	cred, err := s.d.Service.Issue(c.Request.Context(), in)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"credential": cred})
}

func (s *Server) handleRegisterPolicy(c *gin.Context) {
	raw, err := s.readBody(c.Request)
	if err != nil {
		s.writeError(c, err)
		return
	}
	sp, err := s.d.Service.RegisterPolicy(c.Request.Context(), raw)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, sp)
}

func (s *Server) handlePolicy(c *gin.Context) {
	sp, err := s.d.Service.Policy(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, sp)
}

func (s *Server) handleOpenRequest(c *gin.Context) {
	var in service.RequestInput
	if err := s.decode(c.Request, &in); err != nil {
		s.writeError(c, err)
		return
	}
	r, err := s.d.Service.OpenRequest(c.Request.Context(), in)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusCreated, r)
}

func (s *Server) handleRequest(c *gin.Context) {
	r, err := s.d.Service.Request(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

func (s *Server) handleProve(c *gin.Context) {
	async, err := asyncParam(c.Request)
	if err != nil {
		s.writeError(c, err)
		return
	}
	var in service.ProveInput
	if err := s.decode(c.Request, &in); err != nil {
		s.writeError(c, err)
		return
	}
	ctx := c.Request.Context()
	if async {
		id, err := s.d.Service.ProveAsync(ctx, in)
		if err != nil {
			s.writeError(c, err)
			return
		}
		c.Header("Location", "/v1/proofs/jobs/"+url.PathEscape(id))
		c.JSON(http.StatusAccepted, gin.H{"job_id": id})
		return
	}
	if s.proving != nil {
		select {
		case s.proving <- struct{}{}:
			defer func() { <-s.proving }()
		default:
			s.writeError(c, withRetryAfter(zkhealth.Errorf(zkhealth.EOverloaded, "The proving queue is full; retry later."), s.d.RetryAfter))
			return
		}
	}
	out, hit, err := s.d.Service.Prove(ctx, in)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.Header("X-Cache", cacheHeader(hit))
	c.Data(http.StatusOK, "application/json", out)
}

func (s *Server) handleJob(c *gin.Context) {
	j, err := s.d.Service.Job(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, j)
}

// handleVerify answers with the JSON result, or, when the Accept header prefers
// application/fhir+json, with the FHIR R4 resource of the result (fhir.VerificationResource:
// CoverageEligibilityResponse or ResearchSubject) built from the request the service verified
// against. Errors keep the JSON error shape either way.
func (s *Server) handleVerify(c *gin.Context) {
	c.Header("Vary", "Accept")
	var in service.VerifyInput
	if err := s.decode(c.Request, &in); err != nil {
		s.writeError(c, err)
		return
	}
	v, err := s.d.Service.Verify(c.Request.Context(), in)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.Header("X-Cache", cacheHeader(v.Cached))
	if !fhir.WantsFHIR(c.GetHeader("Accept")) {
		c.JSON(http.StatusOK, v.Result)
		return
	}
	body, err := fhir.VerificationResource(fhir.Verification{
		Valid:     v.Result.Valid,
		Reason:    v.Result.Reason,
		Nullifier: v.Result.Nullifier,
		FirstUse:  v.Result.FirstUse,
		Policy:    v.Request.Policy,
		RequestID: v.Request.ID,
		AsOf:      v.Request.AsOf,
		Issuer:    v.Issuer,
	})
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.Data(http.StatusOK, fhir.ContentType, body)
}

func cacheHeader(hit bool) string {
	if hit {
		return "hit"
	}
	return "miss"
}
