// Package config is the agent's configuration: the schema, its defaults,
// loading with drop-ins, validation, and which changes apply live.
//
// # Files
//
// The main file is /etc/omadm-agent/agent.toml ([DefaultPath]); then every
// conf.d/*.toml beside it is applied in lexical order, each overriding the
// keys it sets. [[server]] tables merge by server_id. Durations are TOML
// strings in time.ParseDuration form ("16s", "15m", "24h"). The annotated
// default file shipped in packaging/agent.toml documents every key; a test
// keeps it equal to [Default].
//
// Server accounts (addresses, credentials) are not configuration: they live
// in the DM tree (./DMAcc, OMA-TS-DM_StdObj) and come from bootstrap. The
// [[server]] tables only hold per-ServerID poll schedules, modelled on the
// Windows DMClient Poll node, and the connection retry schedule follows the
// w7 application characteristic (CONNRETRYFREQ, INITIALBACKOFFTIME,
// MAXBACKOFFTIME; OMA-TS-DM_Bootstrap). [Transport.Backoff] and
// [Server.PollDelay] are the executable definition of both schedules.
//
// # Errors
//
// [Load], [Parse] and [Config.Validate] never stop at the first problem:
// they return errors.Join of one [*KeyError] per problem, each naming the
// file, line and key, for example
//
//	/etc/omadm-agent/conf.d/10-x.toml:7: unknown key "modem.baudrate" (did you mean "modem.baud"?)
//
// Unknown keys, wrong types, bad durations and bad values are all reported
// with the line where the key was set (for a value checked after merging,
// the line of the file that set it last). The toml package's MetaData does
// not expose key positions and keeps one per key name (so it cannot tell
// two [[server]] tables apart); the package therefore decodes into a plain
// map, walks the schema by struct tags itself, and finds lines with a small
// scanner over the already-parsed text.
//
// # Invariants
//
//   - No package-level mutable state; every function is safe for
//     concurrent use.
//   - The schema is the Config struct: the `toml` tag names the key and
//     `reload:"live"` marks the fields [Diff] reports as live; everything
//     else needs a restart.
//   - A Config returned without error has passed Validate.
//   - The library never logs and never panics on bad input (fuzzed by
//     FuzzParse).
package config
