package redis_test

import (
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/jwtguard/jwtguard"
	"github.com/jwtguard/jwtguard/internal/testserver"
	"github.com/jwtguard/jwtguard/stores/redis"
	"github.com/jwtguard/jwtguard/storetest"
)

// On a Redis Cluster (here one node that holds every slot: Redis checks
// that a script's keys share a slot all the same), through a go-redis
// cluster client given to New, the three suites pass: the session keys
// share their hash slot, and the scripts that name keys from what they
// read are sent to it; a proof's script names its one key.
func TestCluster(t *testing.T) {
	srv := testserver.StartRedis(t, "--cluster-enabled", "yes")
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer c.Close()
	if err := c.Do(t.Context(), "CLUSTER", "ADDSLOTSRANGE", "0", "16383").Err(); err != nil {
		t.Fatalf("CLUSTER ADDSLOTSRANGE: %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		info, err := c.ClusterInfo(t.Context()).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster is not ready: %v\n%s", err, info)
		}
		time.Sleep(20 * time.Millisecond) // polling the server's state, not waiting out an expiry
	}
	cc := goredis.NewClusterClient(&goredis.ClusterOptions{
		Addrs: []string{srv.Addr}, MaxRedirects: 1, MaxRetries: -1, ContextTimeoutEnabled: true,
	})
	defer cc.Close()
	open := func(t *testing.T) *redis.Store {
		s, err := redis.New(t.Context(), cc, redis.WithPrefix(prefix(t)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Run("Sessions", func(t *testing.T) {
		storetest.Sessions(t, func(t *testing.T) jwtguard.SessionStore { return open(t) })
	})
	t.Run("Throttle", func(t *testing.T) {
		storetest.Throttle(t, func(t *testing.T) jwtguard.Throttle { return open(t) })
	})
	t.Run("ReplayCache", func(t *testing.T) {
		storetest.ReplayCache(t, func(t *testing.T) jwtguard.ReplayCache { return open(t) })
	})
}
