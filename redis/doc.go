// Package redis implements zkhealth's ports on Redis (go-redis), so several `zkhealth serve` and
// `zkhealth worker` processes share one state: Store, Cache and RateLimiter, and the asynchronous
// proof Queue and its Worker (asynq).
//
// # Store, cache and rate limits
//
// Every key starts with the prefix given to the constructor:
//
//	<prefix>policy:<id>            string, StoredPolicy JSON; no expiry
//	<prefix>request:<id>           string, request JSON; expires 24 h after the request does
//	<prefix>nullifiers:<sha256(scope) hex>  hash, nullifier → the claim that first used it; no expiry
//	<prefix>issuers                hash, lower-case public key → "<seq> <issuer JSON>", plus "#seq"
//	<prefix>cache:<key>            string, cached bytes, with the caller's ttl
//	<prefix>rl:<sha256(key) hex>   counter of the current rate-limit window
//	<prefix>log:{log}:…            the verification log (LogStore: leaves, key index, node hashes)
//
// Privacy: nothing private is stored in plain form. Policies, presentation requests (policy,
// as-of date, scope, challenge), nullifiers, issuer records and the verification log's entries
// (binding, scope, nullifier, result, time) are public data of the protocol;
// cache keys are keyed hashes chosen by the caller (zkhealth.Cache's contract); rate-limit keys,
// which may be API keys, are stored only as SHA-256 digests.
//
// Errors: a Redis failure (down, timeout, canceled context) is an *zkhealth.Error with code
// EUnavailable whose message names neither keys nor values; the Redis error is kept as its
// wrapped error for logs and errors.Is.
//
// The constructors take a client the caller owns: Close does not close it, so one client can
// serve a Store, a Cache, a RateLimiter and a Queue.
//
// # Proof queue
//
// The asynchronous proof queue is built on asynq: `zkhealth serve` enqueues with a Queue,
// `zkhealth worker` processes consume with a Worker.
//
// Privacy.
//
// A zkhealth.ProofJob holds a credential and a holder secret. Enqueue seals it with AES-256-GCM
// (random nonce, the job id as additional data) before it reaches Redis; only a Worker, holding
// the same key, opens it, in memory. The task, and with it the sealed payload, is deleted when the
// job ends (asynq retention 0); the job's outcome is kept in a key of our own,
// <prefix>job:<id>, for ResultTTL. Nothing logs a payload, a credential, a secret or a runner's
// raw error text (a prover's error can quote witness values).
//
// Keys.
//
// Results live under the caller's prefix: <prefix>job:<id>. asynq keeps its tasks under its own
// fixed namespace, asynq:{<prefix>proofs}:… (queue QueueName(prefix)), plus the shared
// asynq:queues, asynq:servers and asynq:workers keys; asynq:workers holds the sealed payload of a
// running job until it ends.
//
// Delivery.
//
// A job runs at least once and yields exactly one answer: the result key is written with SET NX,
// so when a job is run twice (its worker vanished, asynq's lease expired and another worker took
// it) the first stored result wins, and a worker that finds a result skips the runner.
//
// asynq v0.26.0 leases an active task for 30 s (rdb.LeaseDuration, a constant, not
// configurable) and extends the lease every 5 s while its worker lives. A worker's recoverer,
// every minute (also not configurable), requeues tasks whose lease expired at least 30 s earlier.
// So a job whose worker died is picked up again 60 s to 2 min after the death, by any running
// Worker. Each job may be recovered that way MaxRecoveries times; after that asynq archives it
// and a Worker's sweep records it as failed and deletes it.
package redis
