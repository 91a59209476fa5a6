package fhir

import (
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/schema"
)

// Attributes builds the attributes of schema s (clinical or coverage) from a FHIR R4 Bundle:
// ClinicalAttributes or CoverageAttributes. The caller signs them with
// credential.IssueAttributes.
func Attributes(s *schema.Schema, bundle []byte, opts Options) (*credential.Attributes, error) {
	switch s.ID {
	case "clinical":
		return ClinicalAttributes(bundle, opts)
	case "coverage":
		if opts.LOINC != nil {
			return nil, optionErrorf("a LOINC set applies to clinical credentials only")
		}
		return CoverageAttributes(bundle, opts)
	}
	return nil, optionErrorf("no FHIR mapping for schema %s", s.ID)
}
