// Package layering holds no code: its test checks the rules of the house
// between Swapwire's packages (see docs/architecture.md), so they stay true.
package layering
