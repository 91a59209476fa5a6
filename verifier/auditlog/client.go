package auditlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/strictjson"
)

// Client reads a verification log through zkhealth's HTTP API (API.md, "Verification log"). It
// trusts nothing it reads: answers are size-limited and parsed strictly, entries are decoded from
// their leaves, and Check and Audit verify what matters against signed checkpoints. It
// implements Source and AuditSource.
type Client struct {
	// BaseURL is the service's URL, e.g. http://127.0.0.1:8080.
	BaseURL string
	// HTTP is the client to use (http.DefaultClient when nil).
	HTTP *http.Client
}

// ErrHTTP is wrapped by the errors of answers with a status other than 200.
var ErrHTTP = errors.New("the log service answered an error")

func (c *Client) get(ctx context.Context, path string, q url.Values, max int64) ([]byte, error) {
	u := strings.TrimSuffix(c.BaseURL, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("log client: %w", err)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("log client: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("log client: GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error.Code != "" {
			return nil, fmt.Errorf("%w: GET %s: %d %s: %s", ErrHTTP, path, resp.StatusCode, e.Error.Code, oneLine(e.Error.Message, 200))
		}
		return nil, fmt.Errorf("%w: GET %s: %d", ErrHTTP, path, resp.StatusCode)
	}
	if int64(len(body)) > max {
		return nil, fmt.Errorf("%w: GET %s: answer longer than %d bytes", ErrWire, path, max)
	}
	return body, nil
}

// oneLine keeps at most n bytes of a server's message, on one line.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

func (c *Client) getJSON(ctx context.Context, path string, q url.Values, max int64, v any) error {
	body, err := c.get(ctx, path, q, max)
	if err != nil {
		return err
	}
	if err := strictjson.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: GET %s: %v", ErrWire, path, err)
	}
	return nil
}

// Checkpoint fetches the latest signed checkpoint (not verified here: OpenCheckpoint does).
func (c *Client) Checkpoint(ctx context.Context) ([]byte, error) {
	return c.get(ctx, "/v1/log/checkpoint", nil, MaxCheckpointSize)
}

// VerifierKey fetches the key the service says verifies its checkpoints. It proves nothing by
// itself: compare it with one learnt out of band, or check an earlier checkpoint with it.
func (c *Client) VerifierKey(ctx context.Context) (string, error) {
	body, err := c.get(ctx, "/v1/log/key", nil, 1024)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(body)), nil
}

func u(v uint64) string { return strconv.FormatUint(v, 10) }

// Entries fetches the entries [start, end) (at most MaxPage; fewer at the log's end), each
// decoded from its leaf and checked against its readable fields.
func (c *Client) Entries(ctx context.Context, start, end uint64) ([]Indexed, error) {
	var page EntriesJSON
	if err := c.getJSON(ctx, "/v1/log/entries", url.Values{"start": {u(start)}, "end": {u(end)}}, MaxEntriesBody, &page); err != nil {
		return nil, err
	}
	return parseEntries(page)
}

// EntriesByNullifier fetches the entries with index ≥ start that name the nullifier.
func (c *Client) EntriesByNullifier(ctx context.Context, nullifier fr.Element, start uint64) ([]Indexed, error) {
	var page EntriesJSON
	q := url.Values{"nullifier": {fieldhash.Hex(nullifier)}, "start": {u(start)}}
	if err := c.getJSON(ctx, "/v1/log/entries", q, MaxEntriesBody, &page); err != nil {
		return nil, err
	}
	return parseEntries(page)
}

func parseEntries(page EntriesJSON) ([]Indexed, error) {
	if len(page.Entries) > MaxPage {
		return nil, fmt.Errorf("%w: more than %d entries in one answer", ErrWire, MaxPage)
	}
	out := make([]Indexed, len(page.Entries))
	for i, j := range page.Entries {
		ix, err := j.Parse()
		if err != nil {
			return nil, err
		}
		if i > 0 && ix.Index <= out[i-1].Index {
			return nil, fmt.Errorf("%w: entries out of order", ErrWire)
		}
		out[i] = ix
	}
	return out, nil
}

// InclusionProof fetches the inclusion proof of the entry at index in the tree of size entries.
func (c *Client) InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error) {
	var p InclusionJSON
	if err := c.getJSON(ctx, "/v1/log/proofs/inclusion", url.Values{"index": {u(index)}, "size": {u(size)}}, MaxProofBody, &p); err != nil {
		return nil, err
	}
	if p.Index != index || p.Size != size {
		return nil, fmt.Errorf("%w: an inclusion proof for another entry or size", ErrWire)
	}
	return DecodeHashes(p.Hashes)
}

// ConsistencyProof fetches the consistency proof between the trees of from and to entries.
func (c *Client) ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error) {
	var p ConsistencyJSON
	if err := c.getJSON(ctx, "/v1/log/proofs/consistency", url.Values{"from": {u(from)}, "to": {u(to)}}, MaxProofBody, &p); err != nil {
		return nil, err
	}
	if p.From != from || p.To != to {
		return nil, fmt.Errorf("%w: a consistency proof between other sizes", ErrWire)
	}
	return DecodeHashes(p.Hashes)
}

var (
	_ Source      = (*Client)(nil)
	_ AuditSource = (*Client)(nil)
	_ Source      = (*Log)(nil)
	_ AuditSource = (*Log)(nil)
)
