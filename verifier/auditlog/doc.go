// Package auditlog is zkhealth's verification log: every verification the service makes is an
// entry of an append-only RFC 6962 Merkle log (github.com/transparency-dev/merkle), whose signed
// checkpoints (C2SP tlog-checkpoint in a C2SP signed note, github.com/transparency-dev/formats and
// golang.org/x/mod/sumdb/note, Ed25519) let anyone check that the log only grows and that an
// entry is in it. A patient finds the entries of their own nullifiers — they can compute them
// for any scope — and checks each one's inclusion: who checked what about them, and when.
//
// # What an entry holds
//
// Entry: the time (whole seconds), the request binding (policy hash) the proof was checked
// against, the request's scope, the nullifier the proof names, and the result ("valid" or the
// verifier's reason code). Nothing else: no attribute value, credential, holder secret, request
// id (the capability a wallet hands a presentation in with) or proof bytes. An entry is at most
// MaxEntrySize (397) bytes; Entry.MarshalBinary documents its canonical encoding, the leaf the
// tree hashes (leaf hash SHA-256(0x00 ‖ leaf), node hash SHA-256(0x01 ‖ left ‖ right)).
//
// # Storage and cost
//
// The log lives on a zkhealth.LogStore (bolt in embedded mode, Redis in Redis mode): the leaves
// are the log; the hashes of the tree's complete subtrees are stored beside them, derived from the
// leaves and recomputable. An append is one store write, acknowledged once durable (a bbolt commit
// with fdatasync; one Lua script in Redis, which gives dense indexes to any number of processes).
// Node hashes are not written by appends: the first reader after them (a checkpoint or a proof)
// hashes the new leaves into the stored compact range (about two node writes per leaf, batched,
// one store write per 1,024 leaves) and raises the synced size in the same write. Open does the
// same, so a log reopened after a crash (or a kill -9 between an append and its hashing) derives
// the tree of every acknowledged leaf; a node hash missing or damaged below the synced size is
// recomputed from its children. Proofs read O(log n) stored hashes; nothing reads all leaves but
// Check.
//
// # Keys and checkpoints
//
// Key is an Ed25519 signed-note key whose name is the log's origin (the checkpoints' first line,
// naming the deployment). The service keeps it in its data directory (log.key, 0600); every
// serve process of a deployment needs the same one, and a store first opened with one key refuses
// another (LogStore.BindLog). The verifier key ("origin+hash+base64") is public; the service
// serves it at GET /v1/log/key for convenience, but a checker must learn it out of band (or from
// a checkpoint it verified earlier), since a server that could rewrite its log could serve another
// key too.
//
// # Checking
//
// Check (`zkhealth log verify`) verifies a log against an earlier checkpoint: signatures,
// consistency, and the root re-derived from every entry. Audit (`zkhealth log audit`) checks a
// holder's entries by inclusion proofs. Both read through a Source: a *Client on the HTTP API,
// or a *Log.
package auditlog
