package couriers

import (
	"context"
	"sync"
	"time"
)

// TokenCache keeps the token of a courier API that logs in (Delhivery B2B's
// JWT, Shiprocket's login token) for all of one client's calls: a call uses
// it until it expires, and the first call after logs in again. The lock is
// held across the login, so concurrent calls share one login instead of
// each spending the courier's login limit.
type TokenCache struct {
	mu      sync.Mutex
	token   string
	expires time.Time
	logins  int
}

// Login logs in once and returns the token and when to stop using it.
type Login func(ctx context.Context) (token string, expires time.Time, err error)

// Token returns the cached token, logging in when there is none or it has
// expired at now.
func (c *TokenCache) Token(ctx context.Context, now time.Time, login Login) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && now.Before(c.expires) {
		return c.token, nil
	}
	c.logins++
	token, expires, err := login(ctx)
	if err != nil {
		return "", err
	}
	c.token, c.expires = token, expires
	return token, nil
}

// Forget drops the token: the courier refused it (401), the next call logs in.
func (c *TokenCache) Forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token = ""
}

// Logins counts the logins tried.
func (c *TokenCache) Logins() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logins
}
