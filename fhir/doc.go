// Package fhir connects zkhealth to HL7 FHIR R4 in three places:
//
//   - records in: ClinicalAttributes and CoverageAttributes turn a patient's Bundle (Patient,
//     Condition, Observation, MedicationRequest/MedicationStatement, Coverage — standalone or
//     contained in ExplanationOfBenefit, as Synthea writes it) into the attributes an issuer
//     signs (credential.IssueAttributes);
//   - criteria in: PolicyFromFHIR turns an R4 ResearchStudy + Group or an R5 EvidenceVariable into
//     a clinical POLICY.json and names every criterion it cannot express;
//   - results out: CoverageEligibilityResponse and ResearchSubject render a verification outcome
//     as R4 resources that carry the nullifier and the policy hash and no attribute value.
//
// Codes: diagnoses are signed in ICD-10-CM; a Condition coded only in SNOMED CT goes through the
// shipped, documented map (snomed_icd10cm.csv, SNOMEDMap). Lab values are converted to the
// canonical UCUM unit of their LOINC code (package encode). Medications are RxNorm.
//
// Decoding is strict and hand-written: the JSON is read once into a tree (repeated keys refused,
// depth bounded) and only the elements zkhealth needs are read, each checked for its JSON type,
// its presence when zkhealth needs it, and its code system. Elements zkhealth does not read are
// ignored, as FHIR allows. (The R4 model package github.com/samply/golang-fhir-models does not
// fit the input side: it decodes a missing required code as its zero value — a Coverage without
// status reads as "active" — names Go fields rather than FHIR paths in errors, and has no R5
// EvidenceVariable. The tests use it as an independent check of the R4 structure of the results.)
//
// Errors about the input are *Error values naming the resource by type and index and the FHIR
// path ("Observation[12].valueQuantity.unit"); they wrap ErrMalformed (itself wrapping
// credential.ErrMalformed, so the CLI exits 2 and the service answers 400) and their messages
// never carry a value from the record.
//
// The package has no mutable state and is safe for concurrent use.
package fhir
