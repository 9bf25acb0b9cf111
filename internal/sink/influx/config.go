package influx

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"time"
)

// Config is the `influx` section of the configuration.
//
//	influx:
//	  url: http://influxdb:8086
//	  token: ${INFLUX_TOKEN}    # "user:password" or "" on InfluxDB 1.8; an API token on 2.x
//	  org: aftershock           # ignored by 1.8
//	  bucket: aftershock/autogen # 1.8: "database/retention-policy" or "database"
//	  batch_size: 500
//	  flush_interval: 1s
//	  timeout: 10s
type Config struct {
	URL string `yaml:"url"`
	// Token is the API token. A value of exactly the form ${NAME} is read
	// from the environment variable NAME by Validate.
	Token  string `yaml:"token"`
	Org    string `yaml:"org"`
	Bucket string `yaml:"bucket"`
	// BatchSize is the most messages written in one request (default 500).
	BatchSize int `yaml:"batch_size"`
	// FlushInterval is the longest a message waits for its batch to fill (default 1s).
	FlushInterval time.Duration `yaml:"flush_interval"`
	// Timeout bounds one write or ping (default 10s).
	Timeout time.Duration `yaml:"timeout"`
}

// Defaults.
const (
	DefaultBatchSize     = 500
	DefaultFlushInterval = time.Second
	DefaultTimeout       = 10 * time.Second
)

var envRefRE = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

// Validate applies defaults, resolves a ${NAME} token and checks the section.
func (c *Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.URL); c.URL == "" {
		errs = append(errs, errors.New("influx.url: required"))
	} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("influx.url: %q is not an http(s) URL", c.URL))
	}
	if m := envRefRE.FindStringSubmatch(c.Token); m != nil {
		v, ok := os.LookupEnv(m[1])
		if !ok {
			errs = append(errs, fmt.Errorf("influx.token: environment variable %s is not set", m[1]))
		}
		c.Token = v
	}
	if c.Bucket == "" {
		errs = append(errs, errors.New("influx.bucket: required (on InfluxDB 1.8: \"database/retention-policy\" or \"database\")"))
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.BatchSize < 1 || c.BatchSize > 10000 {
		errs = append(errs, fmt.Errorf("influx.batch_size: %d, want 1 to 10000", c.BatchSize))
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.FlushInterval < 10*time.Millisecond || c.FlushInterval > time.Minute {
		errs = append(errs, fmt.Errorf("influx.flush_interval: %s, want 10ms to 1m", c.FlushInterval))
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Timeout < 100*time.Millisecond || c.Timeout > 5*time.Minute {
		errs = append(errs, fmt.Errorf("influx.timeout: %s, want 100ms to 5m", c.Timeout))
	}
	return errors.Join(errs...)
}
