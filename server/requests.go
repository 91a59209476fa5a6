package server

import (
	"bytes"
	"errors"
	"io"
	"net/http"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/internal/strictjson"
)

func invalidf(format string, args ...any) *zkhealth.Error {
	return zkhealth.Errorf(zkhealth.EInvalid, format, args...)
}

// readBody reads the whole body (already capped by the body limit).
func (s *Server) readBody(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(s.d.BodyLimit)
		}
		return nil, invalidf("body: could not be read")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, invalidf("body: empty; want a JSON object")
	}
	return data, nil
}

// decode reads one JSON object into v strictly (package strictjson: unknown fields and repeated
// keys refused, nothing after it). It checks the JSON only: what the fields hold is validated by
// the service method v goes to (package service's input types). Errors name the field, or the
// position of a syntax error, and never echo values.
func (s *Server) decode(r *http.Request, v any) error {
	data, err := s.readBody(r)
	if err != nil {
		return err
	}
	if err := strictjson.Unmarshal(data, v); err != nil {
		return jsonError(err)
	}
	return nil
}

// jsonError describes a body strictjson refused: a field error as it is ("ttl_seconds: want an
// integer"), anything about the document as a whole prefixed with "body: ".
func jsonError(err error) error {
	var se *strictjson.Error
	if errors.As(err, &se) && se.Field != "" {
		return invalidf("%s", se.Error())
	}
	if se != nil {
		return invalidf("body: %s", se.Error())
	}
	return invalidf("body: malformed JSON")
}

// asyncParam reads ?async=true|false.
func asyncParam(r *http.Request) (bool, error) {
	switch v := r.URL.Query().Get("async"); v {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, invalidf("async: want true or false")
}
