//go:build linux

package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Cluster is a running (or stopped) private PostgreSQL server.
type Cluster struct {
	Port int
	// Password is the superuser's ("postgres").
	Password string

	dir, data, sock, bin string
	uid, gid             int

	mu      sync.Mutex
	running bool
}

// Missing says why this machine cannot run a cluster ("" when it can).
func Missing() string {
	if os.Geteuid() != 0 {
		return "PostgreSQL test: needs root to run a private server as the postgres user (run 'make test' as root)"
	}
	if _, err := user.Lookup("postgres"); err != nil {
		return "PostgreSQL test: there is no postgres user (Debian package postgresql)"
	}
	if binDir() == "" {
		return "PostgreSQL test: initdb and pg_ctl are missing (Debian package postgresql)"
	}
	if _, err := exec.LookPath("runuser"); err != nil {
		return "PostgreSQL test: runuser is missing (Debian package util-linux)"
	}
	return ""
}

// Require skips the test when Missing names a reason, or fails it when
// CI_REQUIRE_ALL=1 says that nothing may be skipped.
func Require(t testing.TB) {
	t.Helper()
	if why := Missing(); why != "" {
		if os.Getenv("CI_REQUIRE_ALL") == "1" {
			t.Fatalf("%s; CI_REQUIRE_ALL=1 forbids skipping it", why)
		}
		t.Skip(why)
	}
}

// binDir is the newest installed server's bin folder.
func binDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi < vj
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "pg_ctl")); err == nil {
			return dirs[i]
		}
	}
	return ""
}

// New makes and starts a cluster. Remove stops it and deletes its files.
func New() (*Cluster, error) {
	if why := Missing(); why != "" {
		return nil, errors.New(why)
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir, err := os.MkdirTemp(memoryDir(), "clonebay-pgtest-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, data: filepath.Join(dir, "data"), sock: filepath.Join(dir, "sock"), bin: binDir(),
		uid: uid, gid: gid, Password: randomHex(12)}
	fail := func(err error) (*Cluster, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := os.Mkdir(c.sock, 0o700); err != nil {
		return fail(err)
	}
	pw := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pw, []byte(c.Password+"\n"), 0o600); err != nil {
		return fail(err)
	}
	for _, p := range []string{dir, c.sock, pw} {
		if err := os.Chown(p, uid, gid); err != nil {
			return fail(err)
		}
	}
	// Passwords over TCP (the code under test logs in as a client does),
	// trust on the private socket folder only.
	if out, err := c.pg("initdb", "-D", c.data, "-U", "postgres", "--pwfile", pw, "-E", "UTF8", "--locale", "C",
		"--auth-local", "trust", "--auth-host", "scram-sha-256", "--no-sync").CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb: %v: %s", err, out))
	}
	var lastErr error
	for range 5 {
		if c.Port, lastErr = freePort(); lastErr != nil {
			continue
		}
		if lastErr = c.Start(); lastErr == nil {
			return c, nil
		}
	}
	return fail(lastErr)
}

// pg runs one of the server's programs as the postgres user.
func (c *Cluster) pg(prog string, args ...string) *exec.Cmd {
	cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(c.bin, prog)}, args...)...)
	cmd.Dir = c.dir // the postgres user cannot enter the test's own folder
	return cmd
}

// Start starts the server (again, after Stop) on its port and waits until
// it takes connections.
func (c *Cluster) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return nil
	}
	// No durability is needed of a test server; fsync=off keeps it fast
	// on a shared disk.
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60",
		c.Port, c.sock)
	out, err := c.pg("pg_ctl", "start", "-D", c.data, "-w", "-t", "60", "-l", filepath.Join(c.dir, "server.log"), "-o", opts).CombinedOutput()
	if err != nil {
		logTail, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		return fmt.Errorf("pg_ctl start on port %d: %v: %s\n%s", c.Port, err, out, tail(logTail, 2000))
	}
	c.running = true
	return nil
}

// Stop stops the server at once, ending every connection (pg_ctl's fast
// shutdown): the server goes away as a crashed or restarted one does for
// its clients.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return nil
	}
	out, err := c.pg("pg_ctl", "stop", "-D", c.data, "-m", "fast", "-w", "-t", "60").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %v: %s", err, out)
	}
	c.running = false
	return nil
}

// Remove stops the server and deletes its files.
func (c *Cluster) Remove() error {
	err := c.Stop()
	return errors.Join(err, os.RemoveAll(c.dir))
}

// URL is a postgres:// URL on the server's TCP port.
func (c *Cluster) URL(user, password, db string) string {
	u := url.URL{Scheme: "postgres", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port)), Path: "/" + db,
		User: url.UserPassword(user, password), RawQuery: "sslmode=disable"}
	return u.String()
}

// AdminURL is the superuser's URL for a database.
func (c *Cluster) AdminURL(db string) string { return c.URL("postgres", c.Password, db) }

// Exec runs SQL as the superuser in a database.
func (c *Cluster) Exec(ctx context.Context, db, sql string, args ...any) error {
	conn, err := pgx.Connect(ctx, c.AdminURL(db))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

// Database is a test's own database and its owner role.
type Database struct {
	Name, User, Password string
	// URL logs in as the owner; AdminURL as the superuser.
	URL, AdminURL string
}

// CreateDatabase makes a database owned by a new role with a password;
// it lives as long as the cluster.
func (c *Cluster) CreateDatabase(ctx context.Context) (Database, error) {
	suffix := randomHex(6)
	d := Database{Name: "db_" + suffix, User: "role_" + suffix, Password: "pw-" + randomHex(10)}
	d.URL, d.AdminURL = c.URL(d.User, d.Password, d.Name), c.AdminURL(d.Name)
	if err := c.Exec(ctx, "postgres", fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", d.User, d.Password)); err != nil {
		return d, fmt.Errorf("create role: %w", err)
	}
	if err := c.Exec(ctx, "postgres", fmt.Sprintf("CREATE DATABASE %s OWNER %s", d.Name, d.User)); err != nil {
		return d, fmt.Errorf("create database: %w", err)
	}
	return d, nil
}

// NewDatabase makes a database owned by a new role with a password; both
// are dropped when the test ends.
func (c *Cluster) NewDatabase(t testing.TB) Database {
	t.Helper()
	ctx := context.Background()
	d, err := c.CreateDatabase(ctx)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if !c.isRunning() {
			return // a test that stopped the server for good has nothing to drop
		}
		if err := c.Exec(ctx, "postgres", fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", d.Name)); err != nil {
			t.Logf("pgtest: drop database: %v", err)
		}
		if err := c.Exec(ctx, "postgres", fmt.Sprintf("DROP ROLE IF EXISTS %s", d.User)); err != nil {
			t.Logf("pgtest: drop role: %v", err)
		}
	})
	return d
}

func (c *Cluster) isRunning() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.running
}

// The test binary's one cluster, started by the first test that asks.
var shared struct {
	once sync.Once
	c    *Cluster
	err  error
}

// Shared returns the test binary's cluster, starting it on first use; it
// skips (or fails, see Require) where no server can run here.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	Require(t)
	shared.once.Do(func() { shared.c, shared.err = New() })
	if shared.err != nil {
		t.Fatalf("pgtest: starting PostgreSQL: %v", shared.err)
	}
	if err := shared.c.Start(); err != nil { // a test may have left it stopped
		t.Fatalf("pgtest: %v", err)
	}
	return shared.c
}

// Main runs the tests and then removes the shared cluster: call it from
// TestMain as os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if shared.c != nil {
		if err := shared.c.Remove(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		}
	}
	return code
}

// memoryDir is a folder in memory for the server's files when the
// machine has room there: the server stands for one on another machine,
// so its writes should not compete for the disk with those of the code
// under test (and tests run faster). "" means the usual temporary folder.
func memoryDir() string {
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err != nil || int64(st.Bavail)*int64(st.Bsize) < 4<<30 {
		return ""
	}
	return "/dev/shm"
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}

// ExecURL runs SQL on the server at url, logged in as its user.
func ExecURL(ctx context.Context, url, sql string, args ...any) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

// Start starts a cluster for one test and removes it when the test ends;
// for a package with a single PostgreSQL test (others share one through
// Shared and Main).
func Start(t testing.TB) *Cluster {
	t.Helper()
	Require(t)
	c, err := New()
	if err != nil {
		t.Fatalf("pgtest: starting PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Remove(); err != nil {
			t.Logf("pgtest: %v", err)
		}
	})
	return c
}
