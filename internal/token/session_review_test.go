package token

import "testing"

// TestReviewSIDNull (a finding, fixed; as the review found it): sid decides whether Verify asks the session store at
// all, yet "sid": null decodes as an absent sid (as for the other string
// claims), where the time claims, aud and id refuse null. A decision
// claim should refuse null (and "") rather than read as "no session".
func TestReviewSIDNull(t *testing.T) {
	for _, in := range []string{`{"sub":"u","sid":null}`, `{"sub":"u","sid":""}`} {
		var p Payload
		if err := p.UnmarshalJSON([]byte(in)); err == nil {
			t.Errorf("%s decodes without error, SessionID %q: read as a token of no session", in, p.SessionID)
		}
	}
	// Held: the other odd forms are refused.
	for _, in := range []string{`{"sid":1}`, `{"sid":["a"]}`, `{"sid":"a","sid":"b"}`, `{"sid":null,"sid":"b"}`, `{"Sid":"a"}`, `{"SID":"a"}`, `{"ſid":"a"}`, `{"sid":"a","\u0073id":"b"}`, `{"sid":"\ud800"}`} {
		var p Payload
		if err := p.UnmarshalJSON([]byte(in)); err == nil {
			t.Errorf("%s decodes, SessionID %q; want an error", in, p.SessionID)
		}
	}
}
