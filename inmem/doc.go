// Package inmem implements the in-process parts of the embedded (one-machine) mode: a byte cache
// with expiry and a size bound (zkhealth.Cache), per-key token-bucket rate limits
// (zkhealth.RateLimiter) and a proving queue run by a pool of goroutines (zkhealth.Queue).
//
// Nothing here leaves process memory. The queue holds a job's private input (credential and holder
// secret) only while the job waits or runs, and drops it (zeroing its own copy of the credential)
// as soon as the job ends; the cache holds whatever its callers put there, which by the
// zkhealth.Cache contract is never an attribute value or a secret, under keyed-hash keys.
//
// Everything is safe for concurrent use. State is lost on restart, which is what the embedded mode
// expects of caches, rate limits and in-flight proof jobs.
package inmem
