package jwtguard

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
)

// The Auth's refusals: how each is wrapped for the ErrorHandler, logged and
// counted, and the operator's warnings. Above auth.go, errors.go and
// stats.go, which know nothing of an Auth.

// refusal wraps err, which wraps a sentinel, for the ErrorHandler; bearer
// marks a refusal of a Bearer-protected resource, answered with a
// challenge.
func (a *Auth) refusal(err error, bearer bool) *refusalError {
	if w, ok := err.(*wrapped); ok {
		if i := slices.Index(fixedRefusals, w); i >= 0 {
			if bearer {
				return a.fixed.bearer[i]
			}
			return a.fixed.plain[i]
		}
	}
	if re, ok := asRefusal(err); ok {
		return re
	}
	return a.newRefusal(err, bearer)
}

// fixedRefusalErrors are an Auth's refusals of the errors in
// fixedRefusals, made once (they are never changed), so that refusing a
// bad signature, a malformed or an expired token allocates no error.
type fixedRefusalErrors struct {
	plain, bearer []*refusalError
}

func (a *Auth) newFixedRefusals() fixedRefusalErrors {
	var f fixedRefusalErrors
	for _, w := range fixedRefusals {
		f.plain = append(f.plain, a.newRefusal(w, false))
		f.bearer = append(f.bearer, a.newRefusal(w, true))
	}
	return f
}

// newRefusal makes the refusal of err.
func (a *Auth) newRefusal(err error, bearer bool) *refusalError {
	i := refusalFor(err)
	re := &refusalError{err: err, ref: &refusals[i]}
	if bearer {
		re.challenge = a.challenges[i]
		if ds := (*dpopScheme)(nil); a.dpopChallenges != nil && errors.As(err, &ds) {
			re.challenge = a.dpopChallenges[i]
		}
	}
	if a.dpop.nonces != nil && errors.Is(err, errUseDPoPNonce) {
		re.nonce = a.dpop.nonces.Current(a.cfg.now())
	}
	return re
}

// refuse logs err for the operator and hands it to the ErrorHandler.
func (a *Auth) refuse(w http.ResponseWriter, r *http.Request, err error) {
	re := a.refusal(err, false)
	a.logRefusal(r, re)
	if re.nonce != "" {
		w.Header().Set("DPoP-Nonce", re.nonce)
	}
	a.errorHandler(w, r, re)
}

// refuseBearer is refuse for a request to a Bearer-protected resource: the
// answer carries a challenge.
func (a *Auth) refuseBearer(w http.ResponseWriter, r *http.Request, err error) {
	re := a.refusal(err, true)
	a.logRefusal(r, re)
	setRetryAfter(w, re.ref.status)
	if re.nonce != "" {
		w.Header().Set("DPoP-Nonce", re.nonce)
	}
	a.errorHandler(w, r, re)
}

// logRefusal counts a refusal by its reason and logs its real reason at its
// level; a burst of bad signatures is also a warning.
func (a *Auth) logRefusal(r *http.Request, re *refusalError) {
	i := reasonIndex(re.err)
	a.refusals[i].Add(1)
	switch refusalReasons[i] {
	case "bad_signature":
		a.warn(r, &a.warnings.badSignatures, "jwtguard: a burst of tokens with bad signatures (a forgery attempt, or a service signing with another key?)")
	case "unknown_key":
		a.warn(r, &a.warnings.unknownKeys, "jwtguard: a burst of tokens whose kid names no key (a key removed before its tokens expired, one not yet published, or tokens of another issuer?)")
	}
	level := re.ref.level
	var count uint64
	// A *wrapped is a token's refusal (refusalOf), which never wraps a
	// failing Throttle; errors.As is for the others.
	if _, ours := re.err.(*wrapped); !ours && isStoreFailure(re.err) {
		level = slog.LevelError // a failing store: the operator must see it
		if kd := (*keysDown)(nil); errors.As(re.err, &kd) {
			// Any token with a kid is refused so while a key source is
			// down, junk too: at Error at most every keysDownEvery, for
			// each source (the Auth's own, each issuer's), so that one
			// source's outage does not hide another's.
			var now bool
			if kd.w != nil {
				count, now = kd.w.note()
			}
			if !now {
				level = slog.LevelDebug
			}
		}
	}
	if !a.log.Enabled(r.Context(), level) {
		return
	}
	if count != 0 {
		a.log.LogAttrs(r.Context(), level, "jwtguard: request refused",
			slog.Int("status", re.ref.status),
			slog.String("reason", re.err.Error()),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("remote_addr", r.RemoteAddr),
			slog.Uint64("count", count), // refused so since the last Error
		)
		return
	}
	a.log.LogAttrs(r.Context(), level, "jwtguard: request refused",
		slog.Int("status", re.ref.status),
		slog.String("reason", re.err.Error()),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("remote_addr", r.RemoteAddr),
	)
}

// Stats returns the current counters. It is safe for concurrent use.
func (a *Auth) Stats() Stats {
	a.mustBeNew("Stats")
	c := a.guard.Counters()
	st := Stats{
		Refusals:        make(map[string]uint64, len(refusalReasons)),
		LoginsAdmitted:  c.Admitted,
		LoginsHeld:      c.Held,
		LoginsRefused:   c.Refused,
		LoginsThrottled: c.Throttled,
		LoginsWaiting:   c.Waiting,
		PasswordBudget:  c.BudgetPerSecond,
	}
	for i, name := range refusalReasons {
		st.Refusals[name] = a.refusals[i].Load()
	}
	if a.tokenCache != nil {
		cs := a.tokenCache.Stats()
		st.TokenCacheHits, st.TokenCacheMisses, st.TokenCacheEntries, st.TokenCacheBytes = cs.Hits, cs.Misses, cs.Entries, cs.Bytes
	}
	return st
}

// warn logs msg at Warn through w, when w allows it now.
func (a *Auth) warn(r *http.Request, w *warner, msg string) {
	if n, ok := w.note(); ok {
		a.log.LogAttrs(r.Context(), slog.LevelWarn, msg,
			slog.Uint64("count", n),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("remote_addr", r.RemoteAddr),
		)
	}
}
