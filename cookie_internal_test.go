package jwtguard

import "testing"

// TestSafeReturnPath: a return path is kept only when no browser could
// read it as another host or scheme.
func TestSafeReturnPath(t *testing.T) {
	for p, want := range map[string]string{
		"/":                    "/",
		"/account?tab=keys#x":  "/account?tab=keys#x",
		"/a/b%2F%2Fc":          "/a/b%2F%2Fc",
		"":                     "/",
		"account":              "/",
		"//evil.example":       "/",
		"/\\evil.example":      "/",
		"/a\\b":                "/",
		"/\t/evil.example":     "/",
		"/\n/evil.example":     "/",
		"/\r/evil.example":     "/",
		"/\x00":                "/",
		"/a b":                 "/",
		"/caf\u00e9":           "/",
		"https://evil.example": "/",
		"javascript:alert(1)":  "/",
		"/%zz":                 "/",
		"///evil.example":      "/",
	} {
		if got := safeReturnPath(p); got != want {
			t.Errorf("safeReturnPath(%q) = %q, want %q", p, got, want)
		}
	}
}
