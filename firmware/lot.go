package main

import (
	"fmt"

	"github.com/clonebay/clonebay/cli"
	"github.com/clonebay/clonebay/lots"
)

// checkLotFlags checks --lot and --count before anything starts.
func checkLotFlags(lot string, count int) error {
	if lot == "" {
		if count != 0 {
			return cli.UsageError("--count needs --lot")
		}
		return nil
	}
	if err := lots.CheckName(lot); err != nil {
		return fmt.Errorf("--lot: %w", err)
	}
	if count != 0 {
		if err := lots.CheckGoal(count); err != nil {
			return fmt.Errorf("--count: %w", err)
		}
	}
	return nil
}
