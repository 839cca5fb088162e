package form

import (
	"errors"
	"net/url"
	"testing"
)

func decodeRefresh(body string) (grant, tok string, err error) {
	err = Decode([]byte(body),
		Field{Name: "grant_type", Dst: &grant},
		Field{Name: "refresh_token", Dst: &tok},
	)
	return grant, tok, err
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		body, grant, tok string
	}{
		{"grant_type=refresh_token&refresh_token=abc", "refresh_token", "abc"},
		{"refresh_token=abc&grant_type=refresh_token", "refresh_token", "abc"},
		{"refresh%5Ftoken=a%2Db", "", "a-b"},
		{"refresh_token=a+b", "", "a b"},
		{"&&refresh_token=abc&", "", "abc"},
		{"refresh_token=", "", ""},                          // empty: omitted (RFC 6749 §3.2)
		{"refresh_token", "", ""},                           // no '=': an empty value
		{"client_id=x&scope=read&refresh_token=t", "", "t"}, // unknown names ignored
		{"refresh_token=a=b", "", "a=b"},
		{"", "", ""},
	} {
		grant, tok, err := decodeRefresh(tc.body)
		if err != nil || grant != tc.grant || tok != tc.tok {
			t.Errorf("%q: got %q, %q, %v; want %q, %q", tc.body, grant, tok, err, tc.grant, tc.tok)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	for _, tc := range []struct {
		body string
		want error
	}{
		{"refresh_token=a&refresh_token=b", ErrRepeated},
		{"refresh_token=a&refresh%5Ftoken=b", ErrRepeated},
		{"refresh_token=&refresh_token=b", ErrRepeated},
		{"x=1&x=2&refresh_token=a", ErrRepeated}, // unknown names too
		{"refresh_token=a;grant_type=x", ErrMalformed},
		{"refresh_token=a%3", ErrMalformed},
		{"refresh_token=a%zz", ErrMalformed},
		{"x%=1&refresh_token=a", ErrMalformed}, // a name that cannot be read
		{"refresh_token=a%00", ErrMalformed},
		{"refresh_token=a%0Ab", ErrMalformed},
		{"refresh_token=a%7F", ErrMalformed},
		{"refresh_token=%FF", ErrMalformed},
		{"refresh_token=a\nb", ErrMalformed},
		{"Refresh_Token=a", ErrCase},
		{"refresh_token=a&REFRESH_TOKEN=b", ErrCase},
		{"refre%C5%BFh_token=a", ErrCase}, // ſ folds to s
	} {
		_, _, err := decodeRefresh(tc.body)
		if !errors.Is(err, tc.want) {
			t.Errorf("%q: got %v, want %v", tc.body, err, tc.want)
		}
	}
}

// FuzzDecode checks Decode against url.ParseQuery: a body Decode accepts
// parses without error there, every name once, and each field present
// with the value Decode gave.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"grant_type=refresh_token&refresh_token=abc",
		"refresh_token=a&refresh_token=b",
		"refresh%5Ftoken=a+b%20c",
		"refresh_token=a;b",
		"a&&b=&=c",
		"Refresh_token=1",
		"username=alice&password=p%C3%A4ss",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		grant, tok, err := decodeRefresh(body)
		if err != nil {
			return
		}
		q, qerr := url.ParseQuery(body)
		if qerr != nil {
			t.Fatalf("Decode accepts %q, ParseQuery refuses it: %v", body, qerr)
		}
		for name, vs := range q {
			if len(vs) != 1 {
				t.Fatalf("Decode accepts %q, where ParseQuery finds %q %d times", body, name, len(vs))
			}
		}
		if got := q.Get("grant_type"); got != grant {
			t.Fatalf("%q: grant_type %q, ParseQuery %q", body, grant, got)
		}
		if got := q.Get("refresh_token"); got != tok {
			t.Fatalf("%q: refresh_token %q, ParseQuery %q", body, tok, got)
		}
	})
}
