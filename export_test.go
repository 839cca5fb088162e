package jwtguard

// SetPasswordCompare replaces the bcrypt comparison of a's login handlers, so
// that tests can hold a comparison in progress or count comparisons. Call it
// before a serves any request.
func SetPasswordCompare(a *Auth, compare func(hash, password []byte) error) {
	a.passwords.compare = compare
}

// HasDummyHash reports whether a's login handlers have made their dummy hash
// of that cost.
func HasDummyHash(a *Auth, cost int) bool {
	v, ok := a.passwords.dummies.Load(cost)
	return ok && v.(*dummyHash).hash != nil
}

// ParseLifetime is how FromEnv reads JWT_EXPIRES_IN.
var ParseLifetime = parseLifetime

// AccountKey is the throttle key of a username.
func AccountKey(username string) string { return accountKey(username) }
