//go:build linux

package pgtest_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestClusterServesStopsAndComesBack: a test's own database takes its
// owner's password, refuses a wrong one, and the server can be stopped and
// started again on the same port.
func TestClusterServesStopsAndComesBack(t *testing.T) {
	c := pgtest.Shared(t)
	db := c.NewDatabase(t)
	ctx := context.Background()

	conn, err := pgx.Connect(ctx, db.URL)
	require.NoError(t, err)
	var who string
	require.NoError(t, conn.QueryRow(ctx, "SELECT current_user").Scan(&who))
	assert.Equal(t, db.User, who)
	require.NoError(t, conn.Close(ctx))

	_, err = pgx.Connect(ctx, c.URL(db.User, "not-the-password", db.Name))
	assert.ErrorContains(t, err, "password authentication failed")

	require.NoError(t, c.Stop())
	_, err = pgx.Connect(ctx, db.URL)
	require.Error(t, err, "a stopped server takes no connections")
	require.NoError(t, c.Start())
	conn, err = pgx.Connect(ctx, db.URL)
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))
}
