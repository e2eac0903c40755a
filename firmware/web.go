package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"golang.org/x/sync/errgroup"
	"golang.org/x/term"

	"github.com/clonebay/clonebay/appliance"
	"github.com/clonebay/clonebay/cli"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/internal/passwords"
	"github.com/clonebay/clonebay/web"
)

// withWeb runs the appliance and, when addr is set, the web panel beside
// it, until ctx ends. A web panel that cannot listen is logged and left
// out: the duplicator still duplicates.
func withWeb(ctx context.Context, app *appliance.Appliance, addr string, o web.Options, log *slog.Logger, announce func(url string)) error {
	if addr == "" {
		return app.Run(ctx)
	}
	o.App, o.Log = app, log
	srv, err := web.New(o)
	if err != nil {
		return err
	}
	ln, err := web.Listen(addr)
	if err != nil {
		log.Error("web panel left out", "err", err)
		return app.Run(ctx)
	}
	scheme := "http"
	if o.TLS() {
		scheme = "https"
	}
	url := scheme + "://" + browseAddr(ln.Addr()) + "/"
	log.Info("web panel", "url", url)
	if announce != nil {
		announce(url)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return app.Run(gctx) })
	g.Go(func() error {
		if err := srv.Serve(gctx, ln); err != nil {
			log.Error("web panel stopped", "err", err)
		}
		return nil
	})
	return g.Wait()
}

// browseAddr is an address as a browser on this machine reaches it.
func browseAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || tcp.IP.IsUnspecified() {
		port := ""
		if ok {
			port = fmt.Sprint(tcp.Port)
		}
		return net.JoinHostPort("127.0.0.1", port)
	}
	return tcp.String()
}

// passwordAlphabet leaves out letters and digits that read alike.
const passwordAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// newPassword makes a random password of n characters.
func newPassword(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = passwordAlphabet[int(b[i])%len(passwordAlphabet)]
	}
	return string(b)
}

// cmdPasswd sets a web panel password, read from standard input.
func cmdPasswd(_ context.Context, env *cli.Env, args []string) error {
	fs := cli.NewFlags(env, "passwd", "[--role viewer|operator] [--passwords FILE] < password")
	roleName := fs.String("role", "operator", "whose password: operator (starts jobs, changes settings) or viewer (watches)")
	file := fs.String("passwords", defaultPasswords, "the passwords file")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	role, err := passwords.ParseRole(*roleName)
	if err != nil {
		return cli.UsageError("--role: %v", err)
	}
	store, err := passwords.Open(fsys.OS, *file)
	if err != nil {
		return err
	}
	pw, err := readPassword(env)
	if err != nil {
		return err
	}
	if err := store.Set(role, pw); err != nil {
		return fmt.Errorf("passwd: %w", err)
	}
	fmt.Fprintf(env.Stdout, "%s password set in %s\n", role, *file)
	return nil
}

// defaultPasswords is the appliance's passwords file.
const defaultPasswords = "/var/lib/clonebay/passwords"

// readPassword reads a password: asked twice without echo on a
// terminal, else the first line of standard input.
func readPassword(env *cli.Env) (string, error) {
	if f, ok := env.Stdin.(*os.File); ok && cli.IsTerminal(f) {
		fmt.Fprint(env.Stderr, "New password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", fmt.Errorf("passwd: %w", err)
		}
		fmt.Fprint(env.Stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", fmt.Errorf("passwd: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("passwd: the two passwords differ")
		}
		return string(a), nil
	}
	data, err := io.ReadAll(io.LimitReader(env.Stdin, 4096))
	if err != nil {
		return "", fmt.Errorf("passwd: reading standard input: %w", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", errors.New("passwd: give the password on standard input")
	}
	return line, nil
}
