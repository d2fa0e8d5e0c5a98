package tracking

import "slices"

// Terminal statuses end tracking: an order holding one leaves the sweep's
// active set. A customer return (return, returned) follows a delivery, so the
// forward shipment is over: the return shipment is followed by push.
var Terminal = []string{Delivered, Cancelled, RTODelivered, Lost, Return, Returned}

// IsTerminal reports whether s ends tracking.
func IsTerminal(s string) bool { return slices.Contains(Terminal, s) }
