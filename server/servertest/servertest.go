// Package servertest is the HTTP client every test of the zkhealth API uses: it sends a request,
// reads the whole answer and validates it (status, headers, body) against the OpenAPI document
// the server itself serves at /openapi.json, with kin-openapi's openapi3filter.ValidateResponse.
// An answer the document does not describe (an undocumented status included) fails the test.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Client talks to one server and checks every answer against its OpenAPI document. It is safe
// for concurrent use.
type Client struct {
	tb     testing.TB
	base   string
	http   *http.Client
	doc    *openapi3.T
	router routers.Router
}

// New fetches baseURL/openapi.json, checks it is a valid OpenAPI 3 document and returns a client
// that validates against it.
func New(tb testing.TB, baseURL string) *Client {
	tb.Helper()
	hc := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 0}}
	tb.Cleanup(hc.CloseIdleConnections)
	resp, err := hc.Get(strings.TrimSuffix(baseURL, "/") + "/openapi.json")
	if err != nil {
		tb.Fatalf("servertest: GET /openapi.json: %v", err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("servertest: GET /openapi.json: status %d, %v", resp.StatusCode, err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		tb.Fatalf("servertest: /openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		tb.Fatalf("servertest: /openapi.json is not a valid OpenAPI document: %v", err)
	}
	// No servers: routes match on the path alone, whatever host the test server has.
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		tb.Fatalf("servertest: router: %v", err)
	}
	return &Client{tb: tb, base: strings.TrimSuffix(baseURL, "/"), http: hc, doc: doc, router: router}
}

// Response is a whole answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v or fails the test.
func (r *Response) JSON(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		tb.Fatalf("servertest: decode %s: %v", r.Body, err)
	}
}

// ErrorCode is the code of an error answer, or "".
func (r *Response) ErrorCode() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// ErrorMessage is the message of an error answer, or "".
func (r *Response) ErrorMessage() string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Message
}

// Request describes one call. Body is sent as is when it is []byte or string, else as JSON.
type Request struct {
	Method string
	Path   string // with the query, e.g. "/v1/proofs?async=true"
	Key    string // bearer key; "" for none
	Body   any
	Header http.Header
}

// Do sends the request, validates the answer against the document (failing the test on any
// mismatch) and returns it. Transport errors fail the test too.
func (c *Client) Do(req Request) *Response {
	c.tb.Helper()
	resp, err := c.Try(req)
	if err != nil {
		c.tb.Errorf("servertest: %s %s: %v", req.Method, req.Path, err)
		return &Response{Header: http.Header{}}
	}
	return resp
}

// Try is Do returning transport and validation errors instead of failing the test; for tests
// that expect failures and for goroutines.
func (c *Client) Try(req Request) (*Response, error) {
	var body io.Reader
	var raw []byte
	switch b := req.Body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		raw = js
	}
	if raw != nil {
		body = bytes.NewReader(raw)
	}
	hr, err := http.NewRequest(req.Method, c.base+req.Path, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			hr.Header.Add(k, v)
		}
	}
	if raw != nil && hr.Header.Get("Content-Type") == "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	if req.Key != "" {
		hr.Header.Set("Authorization", "Bearer "+req.Key)
	}
	resp, err := c.http.Do(hr)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
	if err := c.Validate(hr, out); err != nil {
		return out, err
	}
	return out, nil
}

// Validate checks one answer to req against the document.
func (c *Client) Validate(req *http.Request, resp *Response) error {
	// The router matches on the URL alone; give it one without the body.
	u, _ := url.Parse(req.URL.String())
	match := &http.Request{Method: req.Method, URL: u, Header: req.Header, Host: req.Host}
	route, params, err := c.router.FindRoute(match)
	if err != nil {
		return &ValidationError{What: "no documented route for " + req.Method + " " + req.URL.Path, Err: err}
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: match, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  resp.Status,
		Header:  resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(resp.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return &ValidationError{What: req.Method + " " + req.URL.Path + " → " + http.StatusText(resp.Status) + ": " + truncate(string(resp.Body)), Err: err}
	}
	return nil
}

// ValidationError is an answer the OpenAPI document does not describe.
type ValidationError struct {
	What string
	Err  error
}

// Error says what answer was not described, and how.
func (e *ValidationError) Error() string { return "OpenAPI mismatch: " + e.What + ": " + e.Err.Error() }

// Unwrap returns kin-openapi's error.
func (e *ValidationError) Unwrap() error { return e.Err }

func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// LogBuffer is a goroutine-safe sink for a test server's log.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
