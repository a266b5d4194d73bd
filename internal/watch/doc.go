// Package watch delivers a service's change events to the watchers of a
// key (a name, a group), in the order the service's index changed.
//
// A service that publishes its index atomically after a batch of changes
// queues the batch's events with Defer and hands them out with Flush once
// the new index is published, so a watcher never hears of a change that
// a lookup cannot see yet. Watch sends a new watcher the key's current
// state and registers it under the hub's lock, which Flush also takes, so
// the current state a watcher starts from is never older than an event
// it already received: at worst it hears the latest change twice.
//
// A watcher's channel is bounded: one that falls behind loses its oldest
// events, never the latest.
package watch
