// Package loadtest holds what the load-test commands of the bench module
// (bench/cmd/loginflood and bench/cmd/throughput) share outside their
// measurements: reading their flags, running the server they measure as a
// child process (its stderr kept in a TailBuffer, stopped after a grace
// period), this process's CPU time, and the median of their runs.
package loadtest

import (
	"flag"
	"fmt"
	"maps"
	"slices"
)

// ParseFlags parses args with fs and refuses positional arguments: the
// load-test commands take flags only.
func ParseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return nil
}

// SetUnset sets each flag of fs named in values to its value there, unless
// the command line set that flag: how -smoke changes defaults while flags
// given explicitly win. Call it after fs has parsed the command line. It
// returns the first error of fs.Set, in the order of the names.
func SetUnset(fs *flag.FlagSet, values map[string]string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, name := range slices.Sorted(maps.Keys(values)) {
		if set[name] {
			continue
		}
		if err := fs.Set(name, values[name]); err != nil {
			return err
		}
	}
	return nil
}

// Median returns the median of xs (the mean of the middle two for an even
// count), or 0 for none. It does not reorder xs.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
