// Package logplexexporter sends logs as Heroku's HTTPS drains receive them: each batch one POST of
// RFC 5424 lines with RFC 6587 octet counting (Content-Type application/logplex-1, the headers
// Logplex-Msg-Count, Logplex-Frame-Id and Logplex-Drain-Token), Basic auth from the URL's user
// and password. The collector has no stock exporter for this; it is Slipway's own, compiled in
// by ocb (testbed/tools/collector/manifest.yaml). A line's fields are the log record's attributes
// the syslog exporter reads too (priority, hostname: the drain token, appname, proc_id, message).
package logplexexporter

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Config is the exporter's configuration: the endpoint (https://user:pass@host/path) and HTTP
// client settings, the queue and the retries.
type Config struct {
	confighttp.ClientConfig   `mapstructure:",squash"`
	QueueSettings             configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	configretry.BackOffConfig `mapstructure:"retry_on_failure"`
}

// Validate checks that an endpoint is set.
func (c *Config) Validate() error {
	if c.Endpoint == "" {
		return errors.New("endpoint is required")
	}
	return nil
}

var typ = component.MustNewType("logplex")

// NewFactory makes the exporter's factory.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(typ, func() component.Config {
		client := confighttp.NewDefaultClientConfig()
		client.Timeout = 10 * time.Second
		return &Config{ClientConfig: client, QueueSettings: configoptional.Some(exporterhelper.NewDefaultQueueConfig()), BackOffConfig: configretry.NewDefaultBackOffConfig()}
	}, exporter.WithLogs(createLogs, component.StabilityLevelAlpha))
}

type logplex struct {
	cfg    *Config
	set    exporter.Settings
	client *http.Client
}

func createLogs(ctx context.Context, set exporter.Settings, c component.Config) (exporter.Logs, error) {
	cfg := c.(*Config)
	e := &logplex{cfg: cfg, set: set}
	return exporterhelper.NewLogs(ctx, set, cfg, e.push,
		exporterhelper.WithStart(func(ctx context.Context, host component.Host) error {
			client, err := cfg.ClientConfig.ToClient(ctx, host.GetExtensions(), set.TelemetrySettings)
			e.client = client
			return err
		}),
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{Timeout: 0}),
		exporterhelper.WithRetry(cfg.BackOffConfig),
		exporterhelper.WithQueue(cfg.QueueSettings),
	)
}

func attr(r plog.LogRecord, key, fallback string) string {
	if v, ok := r.Attributes().Get(key); ok && v.AsString() != "" {
		return v.AsString()
	}
	return fallback
}

// Frame is one record as an octet-counted RFC 5424 line, as the syslog exporter frames them.
func Frame(r plog.LogRecord) string {
	ts := r.Timestamp().AsTime()
	if r.Timestamp() == 0 {
		ts = r.ObservedTimestamp().AsTime()
	}
	line := fmt.Sprintf("<%s>1 %s %s %s %s - - %s\n", attr(r, "priority", "190"), ts.UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
		attr(r, "hostname", "-"), attr(r, "appname", "-"), attr(r, "proc_id", "-"), attr(r, "message", r.Body().AsString()))
	return strconv.Itoa(len(line)) + " " + line
}

func (e *logplex) push(ctx context.Context, logs plog.Logs) error {
	var body bytes.Buffer
	count := 0
	token := ""
	for i := 0; i < logs.ResourceLogs().Len(); i++ {
		sl := logs.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sl.Len(); j++ {
			recs := sl.At(j).LogRecords()
			for k := 0; k < recs.Len(); k++ {
				body.WriteString(Frame(recs.At(k)))
				token = attr(recs.At(k), "hostname", token)
				count++
			}
		}
	}
	if count == 0 {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.Endpoint, &body)
	if err != nil {
		return consumererror.NewPermanent(err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	req.Header.Set("Content-Type", "application/logplex-1")
	req.Header.Set("Logplex-Msg-Count", strconv.Itoa(count))
	req.Header.Set("Logplex-Frame-Id", fmt.Sprintf("%x", id))
	req.Header.Set("Logplex-Drain-Token", token)
	res, err := e.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("the endpoint answered %s", res.Status)
	// A refusal that a retry cannot change (bad credentials, a path that is not there) is not retried.
	if res.StatusCode >= 400 && res.StatusCode < 500 && res.StatusCode != http.StatusTooManyRequests && res.StatusCode != http.StatusRequestTimeout {
		return consumererror.NewPermanent(err)
	}
	return err
}
