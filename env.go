package cloister

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cloister-go/cloister/discovery"
)

// The environment variables ConfigFromEnv reads.
const (
	EnvApp               = "CLOISTER_APP"                // Config.App
	EnvSentry            = "CLOISTER_SENTRY"             // a DNS name, srv:NAME, or a comma-separated list of addresses
	EnvConsensus         = "CLOISTER_CONSENSUS"          // Config.Consensus
	EnvSecret            = "CLOISTER_SECRET"             // Config.Secret
	EnvSecretFile        = "CLOISTER_SECRET_FILE"        // a file of secrets, one per line: the first is Config.Secret, the others Config.AcceptSecrets
	EnvInsecure          = "CLOISTER_INSECURE"           // "true" allows a sentry without a secret
	EnvBind              = "CLOISTER_BIND"               // Config.Bind
	EnvAdvertise         = "CLOISTER_ADVERTISE"          // Config.Advertise
	EnvDetection         = "CLOISTER_DETECTION"          // "steady" (the default), "lan", "local" or "wan"
	EnvDiscoveryInterval = "CLOISTER_DISCOVERY_INTERVAL" // a Go duration, e.g. "500ms"
	EnvRoles             = "CLOISTER_ROLES"              // comma-separated roles
	EnvQuorum            = "CLOISTER_QUORUM"             // keep-majority, static-quorum:SIZE, keep-oldest, down-all or none
	EnvStableAfter       = "CLOISTER_STABLE_AFTER"       // Config.Quorum.StableAfter, a Go duration
	EnvHidden            = "CLOISTER_HIDDEN"             // "true" makes the node hidden (Config.Hidden)

	// EnvHTTP is the address the application serves Node.Handler on, by
	// convention (the README's program, cloister agent). ConfigFromEnv
	// does not read it.
	EnvHTTP = "CLOISTER_HTTP"
)

// ConfigFromEnv returns DefaultConfig changed by the CLOISTER_* environment
// variables, so compose files and Kubernetes manifests need no code. A bad
// value is a *ConfigError naming the variable (never showing a secret).
func ConfigFromEnv() (Config, error) { return configFromLookup(os.LookupEnv) }

func configFromLookup(lookup func(string) (string, bool)) (Config, error) {
	cfg := DefaultConfig()
	get := func(name string) (string, bool) {
		v, ok := lookup(name)
		v = strings.TrimSpace(v)
		return v, ok && v != ""
	}
	bad := func(name, reason string, err error) error {
		return &ConfigError{Field: name, Reason: reason, Err: err}
	}
	if v, ok := get(EnvApp); ok {
		cfg.App = v
	}
	if v, ok := get(EnvBind); ok {
		cfg.Bind = v
	}
	if v, ok := get(EnvAdvertise); ok {
		cfg.Advertise = v
	}
	if v, ok := get(EnvConsensus); ok {
		c, err := strconv.Atoi(v)
		if err != nil || c < 1 {
			return Config{}, bad(EnvConsensus, fmt.Sprintf("must be a whole number of at least 1, got %q", v), nil)
		}
		cfg.Consensus = c
	}
	if v, ok := get(EnvQuorum); ok {
		q, err := parseQuorum(v)
		if err != nil {
			return Config{}, bad(EnvQuorum, err.Error(), nil)
		}
		cfg.Quorum = q
	}
	if v, ok := get(EnvStableAfter); ok {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return Config{}, bad(EnvStableAfter, fmt.Sprintf("must be a duration such as 2s, got %q", v), nil)
		}
		cfg.Quorum.StableAfter = d
	}
	if v, ok := get(EnvDetection); ok {
		d, known := DetectionByName(v)
		if !known {
			return Config{}, bad(EnvDetection, fmt.Sprintf("must be lan, steady, local or wan, got %q", v), nil)
		}
		cfg.Detection = d
		if v == "local" {
			cfg.DiscoveryInterval = LocalConfig().DiscoveryInterval
			cfg.DiscoveryMaxBackoff = LocalConfig().DiscoveryMaxBackoff
		}
	}
	if v, ok := get(EnvDiscoveryInterval); ok {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Config{}, bad(EnvDiscoveryInterval, fmt.Sprintf("must be a positive duration such as 500ms, got %q", v), nil)
		}
		cfg.DiscoveryInterval = d
		cfg.DiscoveryMaxBackoff = max(cfg.DiscoveryMaxBackoff, d)
	}
	if v, ok := get(EnvRoles); ok {
		cfg.Roles = strings.Split(v, ",")
		for i := range cfg.Roles {
			cfg.Roles[i] = strings.TrimSpace(cfg.Roles[i])
		}
	}
	if v, ok := get(EnvInsecure); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, bad(EnvInsecure, fmt.Sprintf("must be true or false, got %q", v), nil)
		}
		cfg.Insecure = b
	}
	if v, ok := get(EnvHidden); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, bad(EnvHidden, fmt.Sprintf("must be true or false, got %q", v), nil)
		}
		cfg.Hidden = b
	}
	secret, hasSecret := lookup(EnvSecret)
	file, hasFile := get(EnvSecretFile)
	switch {
	case hasSecret && secret != "" && hasFile:
		return Config{}, bad(EnvSecret, "set either "+EnvSecret+" or "+EnvSecretFile+", not both", nil)
	case hasFile:
		b, err := os.ReadFile(file)
		if err != nil {
			return Config{}, bad(EnvSecretFile, "cannot read the secret file", err)
		}
		secrets, err := parseSecretFile(b)
		if err != nil {
			return Config{}, bad(EnvSecretFile, err.Error(), nil)
		}
		cfg.Secret, cfg.AcceptSecrets = secrets[0], secrets[1:]
	case hasSecret && secret != "":
		cfg.Secret = Secret(secret)
	}
	if v, ok := get(EnvSentry); ok {
		port, err := bindPort(cfg.Bind)
		if err != nil {
			return Config{}, bad(EnvBind, fmt.Sprintf("%q is not ip:port or :port", cfg.Bind), err)
		}
		p, err := discovery.Parse(v, port)
		if err != nil {
			return Config{}, bad(EnvSentry, "cannot parse the sentry", err)
		}
		cfg.Sentry = p
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, envField(err)
	}
	cfg.envBind = cfg.Bind
	return cfg, nil
}

// envField renames a Config field in a validation error to its variable.
func envField(err error) error {
	ce, ok := err.(*ConfigError)
	if !ok {
		return err
	}
	vars := map[string]string{
		"App": EnvApp, "Consensus": EnvConsensus, "Secret": EnvSecret, "Bind": EnvBind, "AcceptSecrets": EnvSecretFile,
		"Advertise": EnvAdvertise, "Roles": EnvRoles, "DiscoveryInterval": EnvDiscoveryInterval,
		"Quorum.Policy": EnvQuorum, "Quorum.Size": EnvQuorum, "Quorum.StableAfter": EnvStableAfter,
	}
	if v, ok := vars[ce.Field]; ok {
		out := *ce
		out.Field = v
		// The advice names variables too.
		out.Reason = strings.ReplaceAll(out.Reason, "set Insecure", "set "+EnvInsecure+"=true")
		out.Reason = strings.ReplaceAll(out.Reason, "need a Secret", "need "+EnvSecret+" or a first line in the file")
		return &out
	}
	return err
}

// bindPort is the port of a bind address, which DNS sentries pair with
// every address they find (all instances of one app share one port).
func bindPort(bind string) (uint16, error) {
	i := strings.LastIndexByte(bind, ':')
	if i < 0 {
		return 0, fmt.Errorf("no port in %q", bind)
	}
	p, err := strconv.ParseUint(bind[i+1:], 10, 16)
	if err != nil {
		return 0, err
	}
	return uint16(p), nil
}
