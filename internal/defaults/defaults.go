// Package defaults holds the rule every Config in danmaku follows for its
// zero fields, so that the packages apply it alike:
//
//   - DefaultConfig() is the only place the default values are written; the
//     flags of "danmaku serve" show them.
//   - Where zero is no useful value (a window, a size, a count, a timeout),
//     a zero field means the default, and a negative one is refused.
//   - Where zero is a meaningful setting (none, no cap, off), zero means
//     that, and DefaultConfig may still recommend another value.
//
// A package's withDefaults applies these with Positive, PositiveUpTo,
// NonNegative and Or,
// once, in its constructor. The client package follows the same rule on its
// own, since it imports nothing internal.
package defaults

import "fmt"

// Number is what a Config's counts, sizes, rates and durations are.
type Number interface {
	~int | ~int64 | ~float64
}

// Positive replaces a zero *v by def and refuses a negative *v, naming the
// field.
func Positive[T Number](name string, v *T, def T) error {
	if *v < 0 {
		return fmt.Errorf("%s is %v: it must be positive, or 0 for the default", name, *v)
	}
	Or(v, def)
	return nil
}

// PositiveUpTo is Positive that also refuses a value above most.
func PositiveUpTo[T Number](name string, v *T, def, most T) error {
	if err := Positive(name, v, def); err != nil {
		return err
	}
	if *v > most {
		return fmt.Errorf("%s is %v: it must be at most %v", name, *v, most)
	}
	return nil
}

// NonNegative refuses a negative v, naming the field: for a field whose zero
// is a setting of its own.
func NonNegative[T Number](name string, v T) error {
	if v < 0 {
		return fmt.Errorf("%s is %v: it must not be negative", name, v)
	}
	return nil
}

// Or replaces a zero *v by def: for a field whose negative values, if any,
// mean something the field documents.
func Or[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}
