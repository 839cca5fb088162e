package jwtguard_test

// Test options that set one field of the login policy each (through
// EditLoginPolicy), so that a test can combine them; WithLoginPolicy sets
// the whole policy, and TestLoginPolicy tests it.

import (
	"context"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/jwtguard/jwtguard"
)

func ltPolicy(edit func(*jwtguard.LoginPolicy)) jwtguard.Option {
	return jwtguard.EditLoginPolicy(edit)
}

// ltAccount sets the account throttle; burst 0 turns it off.
func ltAccount(burst int, every time.Duration) jwtguard.Option {
	return ltPolicy(func(p *jwtguard.LoginPolicy) { p.Account = jwtguard.Limit{Burst: burst, Every: every, Off: burst == 0} })
}

// ltAddress sets the address throttle; burst 0 turns it off.
func ltAddress(burst int, every time.Duration) jwtguard.Option {
	return ltPolicy(func(p *jwtguard.LoginPolicy) { p.Address = jwtguard.Limit{Burst: burst, Every: every, Off: burst == 0} })
}

// ltBudget fixes the password budget; perSecond 0 turns it off.
func ltBudget(perSecond float64, burst int) jwtguard.Option {
	return ltPolicy(func(p *jwtguard.LoginPolicy) {
		p.BudgetRate, p.BudgetBurst, p.NoBudget = perSecond, burst, perSecond == 0
	})
}

// ltCPUShare derives the password budget from a share of the cores.
func ltCPUShare(share float64) jwtguard.Option {
	return ltPolicy(func(p *jwtguard.LoginPolicy) { p.CPUShare, p.BudgetRate, p.NoBudget = share, 0, false })
}

func ltConcurrency(n int) jwtguard.Option {
	return ltPolicy(func(p *jwtguard.LoginPolicy) { p.Concurrency = n })
}

// ltWait sets the login wait; 0 refuses at once.
func ltWait(d time.Duration) jwtguard.Option {
	return ltPolicy(func(p *jwtguard.LoginPolicy) { p.Wait, p.NoWait = d, d == 0 })
}

func ltMaxWaiting(n int) jwtguard.Option {
	return ltPolicy(func(p *jwtguard.LoginPolicy) { p.MaxWaiting = n })
}

func ltDummyCost(cost int) jwtguard.Option {
	return ltPolicy(func(p *jwtguard.LoginPolicy) { p.DummyHashCost = cost })
}

func ltCapacity(n int) jwtguard.Option {
	return ltPolicy(func(p *jwtguard.LoginPolicy) { p.Capacity = n })
}

func ltTrustedProxies(proxies ...string) jwtguard.Option {
	return ltPolicy(func(p *jwtguard.LoginPolicy) { p.TrustedProxies = proxies })
}

// ltStoreFunc adapts a function to a UserStore.
type ltStoreFunc func(ctx context.Context, username string) (jwtguard.User, error)

func (f ltStoreFunc) LookupUser(ctx context.Context, username string) (jwtguard.User, error) {
	return f(ctx, username)
}

// ltHashCost hashes password at a bcrypt cost of the test's choosing (4 for
// speed), which HashPassword does not take.
func ltHashCost(password string, cost int) ([]byte, error) {
	return bcrypt.GenerateFromPassword([]byte(password), cost)
}
