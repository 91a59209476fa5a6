package redis

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"time"

	"github.com/zkhealth/zkhealth"
)

// KeySize is the size of the payload key: AES-256.
const KeySize = 32

// payloadVersion is the first byte of every sealed payload.
const payloadVersion = 1

// envelope is the plaintext of a sealed payload.
type envelope struct {
	Job        zkhealth.ProofJob `json:"job"`
	EnqueuedMS int64             `json:"enqueued_ms"` // Unix ms
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "proof queue key must be %d bytes", KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "proof queue key is not an AES key")
	}
	return cipher.NewGCM(block)
}

// additionalData binds a sealed payload to its job id, so a payload copied to another id does not
// open.
func additionalData(id string) []byte {
	return []byte("zkhealth/proof-job/v1\x00" + id)
}

// seal encrypts the job for id: version byte || 12-byte random nonce || AES-GCM ciphertext.
func seal(aead cipher.AEAD, id string, job zkhealth.ProofJob, enqueued time.Time) ([]byte, error) {
	plain, err := json.Marshal(envelope{Job: job, EnqueuedMS: enqueued.UnixMilli()})
	if err != nil {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "proof job is not valid JSON")
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plain)+aead.Overhead())
	out[0] = payloadVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	out = aead.Seal(out, out[1:], plain, additionalData(id))
	clear(plain)
	return out, nil
}

var errPayload = errors.New("proof job payload does not open")

// open decrypts a payload sealed for id.
func open(aead cipher.AEAD, id string, payload []byte) (envelope, error) {
	ns := aead.NonceSize()
	if len(payload) < 1+ns+aead.Overhead() || payload[0] != payloadVersion {
		return envelope{}, errPayload
	}
	plain, err := aead.Open(nil, payload[1:1+ns], payload[1+ns:], additionalData(id))
	if err != nil {
		return envelope{}, errPayload
	}
	defer clear(plain)
	var env envelope
	if err := json.Unmarshal(plain, &env); err != nil {
		return envelope{}, errPayload
	}
	return env, nil
}
