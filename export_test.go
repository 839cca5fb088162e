package jwtguard

// SetPasswordCompare replaces the bcrypt comparison of a's login handlers, so
// that tests can hold a comparison in progress or count comparisons. Call it
// before a serves any request.
func SetPasswordCompare(a *Auth, compare func(hash, password []byte) error) {
	a.passwords.compare = compare
}
