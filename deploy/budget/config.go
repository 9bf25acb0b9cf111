package budget

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aftershock/aftershock/deploy/internal/check"
)

// Config is the `budgets` section: how much every team and author may spend
// on halted releases before the gate asks for a review.
//
//	budgets:
//	  teams:                  # starting reliability budget per team
//	    storefront: 3
//	    payments: 2
//	  default_team_budget: 3  # teams not listed above (default 3)
//	  authors_karma: 5        # starting karma of every author (default 5)
//	  cost_per_halt: 1        # what one halted (release, ring) costs (default 1)
//	  history: 50             # entries kept per account (default 50)
type Config struct {
	// Teams maps a team to its starting budget; 0 means every release of
	// the team needs a review.
	Teams map[string]int `yaml:"teams"`
	// DefaultTeamBudget is the starting budget of a team not in Teams.
	DefaultTeamBudget int `yaml:"default_team_budget"`
	// AuthorsKarma is the starting karma of every author.
	AuthorsKarma int `yaml:"authors_karma"`
	// CostPerHalt is taken from the team and from each author once per
	// halted release and ring.
	CostPerHalt int `yaml:"cost_per_halt"`
	// History is how many entries each account keeps (oldest dropped first).
	History int `yaml:"history"`
}

// Defaults and limits.
const (
	DefaultTeamBudget   = 3
	DefaultAuthorsKarma = 5
	DefaultCostPerHalt  = 1
	DefaultHistory      = 50
	MaxHistory          = 1000
	// MaxBalance bounds a configured budget and a reset.
	MaxBalance = 1_000_000
)

// Validate applies defaults and checks the section, naming fields under
// `budgets`.
func (c *Config) Validate() error { return c.ValidateAt("budgets") }

// ValidateAt is Validate with errors naming fields under path.
func (c *Config) ValidateAt(path string) error {
	field := func(name string) string { return check.Field(path, name) }
	if c.DefaultTeamBudget == 0 {
		c.DefaultTeamBudget = DefaultTeamBudget
	}
	if c.AuthorsKarma == 0 {
		c.AuthorsKarma = DefaultAuthorsKarma
	}
	if c.CostPerHalt == 0 {
		c.CostPerHalt = DefaultCostPerHalt
	}
	if c.History == 0 {
		c.History = DefaultHistory
	}
	var errs []error
	for _, team := range slices.Sorted(maps.Keys(c.Teams)) {
		n := c.Teams[team]
		switch {
		case !ValidName(team):
			errs = append(errs, fmt.Errorf("%s: %q is not a valid team name (letters, digits, '.', '_', '@', '+', '-'; at most 128)", field("teams"), team))
		case n < 0 || n > MaxBalance:
			errs = append(errs, fmt.Errorf("%s: %d, want 0 to %d", field("teams."+team), n, MaxBalance))
		}
	}
	if c.DefaultTeamBudget < 0 || c.DefaultTeamBudget > MaxBalance {
		errs = append(errs, fmt.Errorf("%s: %d, want 1 to %d", field("default_team_budget"), c.DefaultTeamBudget, MaxBalance))
	}
	if c.AuthorsKarma < 0 || c.AuthorsKarma > MaxBalance {
		errs = append(errs, fmt.Errorf("%s: %d, want 1 to %d", field("authors_karma"), c.AuthorsKarma, MaxBalance))
	}
	if c.CostPerHalt < 0 || c.CostPerHalt > MaxBalance {
		errs = append(errs, fmt.Errorf("%s: %d, want 1 to %d", field("cost_per_halt"), c.CostPerHalt, MaxBalance))
	}
	if c.History < 1 || c.History > MaxHistory {
		errs = append(errs, fmt.Errorf("%s: %d, want 1 to %d", field("history"), c.History, MaxHistory))
	}
	return errors.Join(errs...)
}

// start is the balance an account has before anything was spent.
func (c *Config) start(kind, name string) int {
	if kind == KindAuthor {
		return c.AuthorsKarma
	}
	if n, ok := c.Teams[name]; ok {
		return n
	}
	return c.DefaultTeamBudget
}
