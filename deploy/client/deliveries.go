package client

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"

	"github.com/aftershock/aftershock/deploy/delivery"
)

// FailedDeliveries returns the notices given up on (dead letters).
func (c *Client) FailedDeliveries(ctx context.Context) ([]delivery.DeadLetter, error) {
	var out delivery.ListResponse
	err := c.do(ctx, http.MethodGet, "/v1/deliveries?state=failed", nil, &out)
	return out.Deliveries, err
}

// Resend queues a dead letter again (same webhook-id).
func (c *Client) Resend(ctx context.Context, id string) (delivery.ResendResponse, error) {
	var out delivery.ResendResponse
	err := c.do(ctx, http.MethodPost, "/v1/deliveries/"+url.PathEscape(id)+"/resend", struct{}{}, &out)
	return out, err
}

const deliveriesUsage = `usage: aftershock deliveries [--server URL] [--token TOKEN] [--ca FILE] COMMAND

commands:
  list          the notices given up on (refused by the receiver, or past their deadline)
  resend ID     queue one again, with the same webhook-id (ID as listed, e.g. deploy:halt:shop-4.2.0:H2)

--server (a URL, or host:port for plain HTTP) defaults to $AFTERSHOCK_SERVER
or http://127.0.0.1:8080, --token to $AFTERSHOCK_TOKEN, --ca (PEM certificates
to trust for an https server with a private CA) to $AFTERSHOCK_CA.
`

// RunDeliveriesCLI runs "aftershock deliveries ARGS…"; exit codes as RunCLI.
func RunDeliveriesCLI(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) string) int {
	if env == nil {
		env = os.Getenv
	}
	server := env("AFTERSHOCK_SERVER")
	if server == "" {
		server = "http://127.0.0.1:8080"
	}
	token := env("AFTERSHOCK_TOKEN")
	ca := env("AFTERSHOCK_CA")
	fs := newFlags("deliveries", stderr, &server, &token, &ca)
	pos, err := parse(fs, args)
	fail := func(err error) int {
		if err == nil {
			_, _ = io.WriteString(stdout, deliveriesUsage)
			return ExitOK
		}
		fmt.Fprintf(stderr, "aftershock deliveries: %v\n\n%s", err, deliveriesUsage)
		return ExitUsage
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return fail(nil)
		}
		return fail(err)
	}
	c := &Client{BaseURL: withScheme(server), Token: token}
	if ca != "" {
		hc, err := httpsClient(ca)
		if err != nil {
			fmt.Fprintf(stderr, "aftershock deliveries: %v\n", err)
			return ExitError
		}
		c.HTTP = hc
	}
	var out any
	switch {
	case len(pos) == 1 && pos[0] == "list":
		out, err = c.FailedDeliveries(ctx)
	case len(pos) == 2 && pos[0] == "resend":
		out, err = c.Resend(ctx, pos[1])
	case len(pos) == 1 && pos[0] == "help":
		return fail(nil)
	case len(pos) == 0:
		return fail(usagef("missing command"))
	default:
		return fail(usagef("unknown command or arguments %q", pos))
	}
	if err != nil {
		fmt.Fprintf(stderr, "aftershock deliveries %s: %v\n", pos[0], err)
		return ExitError
	}
	data, _ := json.MarshalIndent(out, "", "  ")
	_, _ = stdout.Write(append(data, '\n'))
	return ExitOK
}
