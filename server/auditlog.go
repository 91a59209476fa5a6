package server

import (
	"context"
	"net/http"
	"strconv"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/gin-gonic/gin"

	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/verifier/auditlog"
)

// Log is the verification log the server publishes (API.md, "Verification log"); package
// verifier/auditlog's *Log implements it. Its errors are *zkhealth.Error: EInvalid for a
// parameter out of the log's bounds, EUnavailable, EInternal.
type Log interface {
	Checkpoint(ctx context.Context) ([]byte, error)
	VerifierKey() string
	Entries(ctx context.Context, start, end uint64) ([]auditlog.Indexed, error)
	EntriesByNullifier(ctx context.Context, nullifier fr.Element, start uint64) ([]auditlog.Indexed, error)
	InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error)
	ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error)
}

var _ Log = (*auditlog.Log)(nil)

// logRoutes adds the log's endpoints (no key: the log is public) when the server has a log.
func (s *Server) logRoutes(v1 *gin.RouterGroup) {
	if s.d.Log == nil {
		return
	}
	v1.GET("/log/checkpoint", s.handleLogCheckpoint)
	v1.GET("/log/key", s.handleLogKey)
	v1.GET("/log/entries", s.handleLogEntries)
	v1.GET("/log/proofs/inclusion", s.handleLogInclusion)
	v1.GET("/log/proofs/consistency", s.handleLogConsistency)
}

// uintParam reads a required (or, with def ≥ 0, optional) decimal query parameter.
func uintParam(c *gin.Context, name string, def int64) (uint64, error) {
	v, ok := c.GetQuery(name)
	if !ok || v == "" {
		if def >= 0 {
			return uint64(def), nil
		}
		return 0, invalidf("%s: required", name)
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || v[0] == '+' {
		return 0, invalidf("%s: want a non-negative decimal integer", name)
	}
	return n, nil
}

func noStore(c *gin.Context) { c.Header("Cache-Control", "no-store") }

func (s *Server) handleLogCheckpoint(c *gin.Context) {
	cp, err := s.d.Log.Checkpoint(c.Request.Context())
	if err != nil {
		s.writeError(c, err)
		return
	}
	noStore(c)
	c.Data(http.StatusOK, "text/plain; charset=utf-8", cp)
}

func (s *Server) handleLogKey(c *gin.Context) {
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(s.d.Log.VerifierKey()+"\n"))
}

func (s *Server) handleLogEntries(c *gin.Context) {
	ctx := c.Request.Context()
	var page []auditlog.Indexed
	var next *uint64
	if n, ok := c.GetQuery("nullifier"); ok {
		if _, has := c.GetQuery("end"); has {
			s.writeError(c, invalidf("end: not with nullifier (page with start)"))
			return
		}
		nullifier, err := fieldhash.ParseHex(n)
		if err != nil {
			s.writeError(c, invalidf("nullifier: want a field element in hex"))
			return
		}
		start, err := uintParam(c, "start", 0)
		if err != nil {
			s.writeError(c, err)
			return
		}
		if page, err = s.d.Log.EntriesByNullifier(ctx, nullifier, start); err != nil {
			s.writeError(c, err)
			return
		}
		if len(page) == auditlog.MaxPage {
			after := page[len(page)-1].Index + 1
			next = &after
		}
	} else {
		start, err := uintParam(c, "start", -1)
		if err != nil {
			s.writeError(c, err)
			return
		}
		end, err := uintParam(c, "end", -1)
		if err != nil {
			s.writeError(c, err)
			return
		}
		if page, err = s.d.Log.Entries(ctx, start, end); err != nil {
			s.writeError(c, err)
			return
		}
	}
	out := auditlog.EntriesJSON{Entries: make([]auditlog.EntryJSON, len(page)), Next: next}
	for i, ix := range page {
		out.Entries[i] = auditlog.NewEntryJSON(ix)
	}
	noStore(c)
	c.JSON(http.StatusOK, out)
}

func (s *Server) handleLogInclusion(c *gin.Context) {
	index, err := uintParam(c, "index", -1)
	if err != nil {
		s.writeError(c, err)
		return
	}
	size, err := uintParam(c, "size", -1)
	if err != nil {
		s.writeError(c, err)
		return
	}
	hashes, err := s.d.Log.InclusionProof(c.Request.Context(), index, size)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, auditlog.InclusionJSON{Index: index, Size: size, Hashes: auditlog.EncodeHashes(hashes)})
}

func (s *Server) handleLogConsistency(c *gin.Context) {
	from, err := uintParam(c, "from", -1)
	if err != nil {
		s.writeError(c, err)
		return
	}
	to, err := uintParam(c, "to", -1)
	if err != nil {
		s.writeError(c, err)
		return
	}
	hashes, err := s.d.Log.ConsistencyProof(c.Request.Context(), from, to)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, auditlog.ConsistencyJSON{From: from, To: to, Hashes: auditlog.EncodeHashes(hashes)})
}
