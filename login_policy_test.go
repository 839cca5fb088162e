package jwtguard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard"
)

// TestLoginPolicyIsValidated: New refuses a policy it cannot honour, naming
// the field; zero fields are defaults, not errors.
func TestLoginPolicyIsValidated(t *testing.T) {
	for name, p := range map[string]jwtguard.LoginPolicy{
		"negative account burst":   {Account: jwtguard.Limit{Burst: -1}},
		"negative account period":  {Account: jwtguard.Limit{Every: -time.Second}},
		"negative address burst":   {Address: jwtguard.Limit{Burst: -1, Every: time.Minute}},
		"negative capacity":        {Capacity: -1},
		"proxy that is no address": {TrustedProxies: []string{"10.0.0.1", "proxy.internal"}},
		"bad prefix":               {TrustedProxies: []string{"10.0.0.0/33"}},
		"X-Real-IP":                {ForwardedHeader: "X-Real-IP"},
		"True-Client-IP":           {ForwardedHeader: "True-Client-IP"},
		"share over 1":             {CPUShare: 1.5},
		"negative share":           {CPUShare: -0.1},
		"NaN share":                {CPUShare: math.NaN()},
		"negative rate":            {BudgetRate: -1},
		"infinite rate":            {BudgetRate: math.Inf(1)},
		"NaN rate":                 {BudgetRate: math.NaN()},
		"negative budget burst":    {BudgetRate: 1, BudgetBurst: -1},
		"negative concurrency":     {Concurrency: -1},
		"negative wait":            {Wait: -time.Second},
		"negative max waiting":     {MaxWaiting: -1},
		"tiny body":                {MaxBodySize: 10},
		"negative body":            {MaxBodySize: -1},
		"dummy cost 3":             {DummyHashCost: 3},
		"dummy cost 32":            {DummyHashCost: 32},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := jwtguard.New(testKey(t, ltSecret), jwtguard.WithLoginPolicy(p))
			if err == nil || !strings.HasPrefix(err.Error(), "jwtguard: login policy: ") {
				t.Errorf("New = %v; want a login policy error", err)
			}
		})
	}
	for name, p := range map[string]jwtguard.LoginPolicy{
		"zero":                           {},
		"forwarded header in lower case": {ForwardedHeader: "x-forwarded-for"},
		"Forwarded":                      {ForwardedHeader: "Forwarded"},
		"IPv6 proxy and prefix":          {TrustedProxies: []string{"::1", "fd00::/8", "10.0.0.0/8"}},
		"everything off":                 {Account: jwtguard.Limit{Off: true}, Address: jwtguard.Limit{Off: true}, NoBudget: true, NoWait: true},
	} {
		if _, err := jwtguard.New(testKey(t, ltSecret), jwtguard.WithLoginPolicy(p)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestLoginPolicyDefaults: a zero field is its documented default; Off and
// the No… fields turn a defence off.
func TestLoginPolicyDefaults(t *testing.T) {
	wrong := `{"username":"alice","password":"wrong"}`
	auth := func(t *testing.T, clock *ltClock, p jwtguard.LoginPolicy) http.Handler {
		p.NoBudget, p.DummyHashCost = true, 4
		return ltAuth(t, jwtguard.WithClock(clock.Now), jwtguard.WithLoginPolicy(p)).LoginHandler(ltStore(t))
	}
	t.Run("account: 10 at once, then one every 30 s", func(t *testing.T) {
		clock := newLTClock()
		h := auth(t, clock, jwtguard.LoginPolicy{})
		for i := range 10 {
			ltWant(t, ltLoginFrom(h, "192.0.2.1:1", wrong), 401, "guess "+string(rune('1'+i)))
		}
		ltWant(t, ltLoginFrom(h, "192.0.2.1:1", wrong), 429, "the 11th guess")
		clock.Advance(29 * time.Second)
		ltWant(t, ltLoginFrom(h, "192.0.2.1:1", wrong), 429, "29 s later")
		clock.Advance(time.Second)
		ltWant(t, ltLoginFrom(h, "192.0.2.1:1", wrong), 401, "30 s later")
	})
	t.Run("account burst alone: every defaults to 30 s", func(t *testing.T) {
		clock := newLTClock()
		h := auth(t, clock, jwtguard.LoginPolicy{Account: jwtguard.Limit{Burst: 2}})
		ltWant(t, ltLoginFrom(h, "192.0.2.1:1", wrong), 401, "first")
		ltWant(t, ltLoginFrom(h, "192.0.2.1:1", wrong), 401, "second")
		ltWant(t, ltLoginFrom(h, "192.0.2.1:1", wrong), 429, "third")
		clock.Advance(30 * time.Second)
		ltWant(t, ltLoginFrom(h, "192.0.2.1:1", wrong), 401, "30 s later")
	})
	t.Run("account off", func(t *testing.T) {
		h := auth(t, newLTClock(), jwtguard.LoginPolicy{Account: jwtguard.Limit{Off: true}})
		for range 30 {
			ltWant(t, ltLoginFrom(h, "192.0.2.1:1", wrong), 401, "a guess")
		}
	})
	t.Run("address is off unless set", func(t *testing.T) {
		h := auth(t, newLTClock(), jwtguard.LoginPolicy{Account: jwtguard.Limit{Off: true}})
		for i := range 30 {
			body := `{"username":"user` + string(rune('a'+i)) + `","password":"wrong"}`
			ltWant(t, ltLoginFrom(h, "192.0.2.1:1", body), 401, "a guess at another account")
		}
	})
	t.Run("address every alone: burst defaults to 10", func(t *testing.T) {
		h := auth(t, newLTClock(), jwtguard.LoginPolicy{Account: jwtguard.Limit{Off: true}, Address: jwtguard.Limit{Every: time.Hour}})
		for i := range 10 {
			body := `{"username":"user` + string(rune('a'+i)) + `","password":"wrong"}`
			ltWant(t, ltLoginFrom(h, "192.0.2.1:1", body), 401, "a guess at another account")
		}
		ltWant(t, ltLoginFrom(h, "192.0.2.1:1", `{"username":"zed","password":"wrong"}`), 429, "the 11th from the address")
		ltWant(t, ltLoginFrom(h, "192.0.2.2:1", `{"username":"zed","password":"wrong"}`), 401, "another address")
	})
	t.Run("body bound", func(t *testing.T) {
		h := auth(t, newLTClock(), jwtguard.LoginPolicy{MaxBodySize: 64})
		rec := ltLogin(h, `{"username":"alice","password":"`+strings.Repeat("p", 60)+`"}`)
		ltWant(t, rec, 413, "a body over 64 bytes")
	})
}

// TestLoginPolicyTokenField: clients written against the tutorials read
// "token"; it is there only when asked for, and equals access_token.
func TestLoginPolicyTokenField(t *testing.T) {
	for _, on := range []bool{false, true} {
		a := ltAuth(t, jwtguard.WithLoginPolicy(jwtguard.LoginPolicy{TokenField: on, NoBudget: true, DummyHashCost: 4}))
		rec := ltLogin(a.LoginHandler(ltStore(t)), `{"username":"alice","password":"password123"}`)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 200 {
			t.Fatalf("login: %d %s", rec.Code, rec.Body)
		}
		tok, has := body["token"]
		if has != on || on && tok != body["access_token"] {
			t.Errorf("TokenField %v: body %v", on, body)
		}
	}
}

// recordingThrottle is a Throttle of the test's own: it admits every take
// unless told to fail, and records the calls.
type recordingThrottle struct {
	mu    sync.Mutex
	calls []string
	fail  error
	last  map[string]string
}

func (r *recordingThrottle) record(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
}

func (r *recordingThrottle) Take(ctx context.Context, key string, l jwtguard.Limit, now time.Time) (time.Duration, error) {
	r.record("take")
	if l.Burst != 10 || l.Every != 30*time.Second || l.Off {
		return 0, errors.New("unexpected limit")
	}
	return 0, r.fail
}

func (r *recordingThrottle) Done(ctx context.Context, key string, l jwtguard.Limit, refund bool, now time.Time) error {
	if refund {
		r.record("refund")
	} else {
		r.record("keep")
	}
	return nil
}

func (r *recordingThrottle) Remember(ctx context.Context, account, addr string, now time.Time) error {
	r.record("remember " + addr)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last[account] = addr
	return nil
}

func (r *recordingThrottle) LastLogin(ctx context.Context, account string) (string, time.Time, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last[account], time.Now(), r.fail
}

// TestLoginPolicyThrottle: a Throttle of one's own replaces the in-memory
// one; a failing one fails the login closed (503, logged at Error).
func TestLoginPolicyThrottle(t *testing.T) {
	rt := &recordingThrottle{last: map[string]string{}}
	var logs bytes.Buffer
	a := ltAuth(t, jwtguard.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		jwtguard.WithLoginPolicy(jwtguard.LoginPolicy{Throttle: rt, NoBudget: true, DummyHashCost: 4}))
	h := a.LoginHandler(ltStore(t))
	ltWant(t, ltLoginFrom(h, "192.0.2.1:1", `{"username":"alice","password":"wrong"}`), 401, "a wrong guess")
	ltWant(t, ltLoginFrom(h, "192.0.2.1:1", `{"username":"alice","password":"password123"}`), 200, "the right password")
	want := "take take keep keep take take refund refund remember 192.0.2.1"
	if got := strings.Join(rt.calls, " "); got != want {
		t.Errorf("calls %q, want %q (username and user ID buckets; a guess keeps, a success refunds)", got, want)
	}

	rt.fail = errors.New("redis: connection refused")
	rec := ltLoginFrom(h, "192.0.2.1:1", `{"username":"alice","password":"password123"}`)
	ltWant(t, rec, 503, "a login while the throttle fails")
	if rec.Header().Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("log %q: want the failure at Error", logs.String())
	}
	if strings.Contains(rec.Body.String(), "redis") {
		t.Errorf("body %q tells the client the reason", rec.Body)
	}
}
