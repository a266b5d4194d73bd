package ring

import (
	"fmt"
	"math"
)

const (
	// DefaultSlots is the number of slots (partitions) of a ring built
	// without WithSlots: 2^17.
	DefaultSlots = 1 << 17
	// MinSlots is the smallest slot count WithSlots accepts.
	MinSlots = 1 << 8
	// MaxSlots is the largest slot count WithSlots accepts.
	MaxSlots = 1 << 22
	// MaxEpsilon is the largest epsilon WithBoundedLoad accepts.
	MaxEpsilon = 100
)

// Option configures New. Every node that must agree on ownership has to
// build its ring with the same options (except WithEpoch, which is only a
// tag); Checksum covers them.
type Option func(*config) error

type config struct {
	epoch   uint64
	slots   int
	bounded bool
	epsPPM  uint64 // epsilon in millionths
}

// WithEpoch tags the ring with a caller-chosen number, typically the
// membership version it was built from. It does not affect ownership and
// is not part of Checksum.
func WithEpoch(epoch uint64) Option {
	return func(c *config) error {
		c.epoch = epoch
		return nil
	}
}

// WithSlots sets the number of slots, a power of two between MinSlots and
// MaxSlots. More slots give better balance and finer handoff at the cost of
// 2 bytes per slot and a slower New. See the package documentation.
func WithSlots(n int) Option {
	return func(c *config) error {
		if n < MinSlots || n > MaxSlots || n&(n-1) != 0 {
			return fmt.Errorf("%w: WithSlots(%d): want a power of two in [%d, %d]",
				ErrInvalidOption, n, MinSlots, MaxSlots)
		}
		c.slots = n
		return nil
	}
}

// WithBoundedLoad caps every member at ceil((1+epsilon) * slots * w/W)
// slots, where w is its weight and W the total (consistent hashing with
// bounded loads, Mirrokni, Thorup and Zadimoghaddam 2018). Epsilon must be
// in [0, MaxEpsilon]; it is rounded to a multiple of 1e-6. See the package
// documentation for what load means here.
func WithBoundedLoad(epsilon float64) Option {
	return func(c *config) error {
		if math.IsNaN(epsilon) || epsilon < 0 || epsilon > MaxEpsilon {
			return fmt.Errorf("%w: WithBoundedLoad(%v): want epsilon in [0, %d]",
				ErrInvalidOption, epsilon, MaxEpsilon)
		}
		c.bounded = true
		c.epsPPM = uint64(math.Round(epsilon * 1e6))
		return nil
	}
}
