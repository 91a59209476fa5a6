package redis

import (
	"time"

	"github.com/zkhealth/zkhealth"
)

// SealForTest seals job for id as Enqueue does.
func SealForTest(key []byte, id string, job zkhealth.ProofJob) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return seal(aead, id, job, time.Now())
}

// OpenForTest opens a payload sealed for id.
func OpenForTest(key []byte, id string, payload []byte) (zkhealth.ProofJob, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return zkhealth.ProofJob{}, err
	}
	env, err := open(aead, id, payload)
	return env.Job, err
}
