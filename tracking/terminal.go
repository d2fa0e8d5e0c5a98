package tracking

import "slices"

// Terminal statuses end tracking: an order holding one leaves the sweep's active set.
var Terminal = []string{Delivered, Cancelled, RTODelivered, Lost}

// IsTerminal reports whether s ends tracking.
func IsTerminal(s string) bool { return slices.Contains(Terminal, s) }
