package main

import (
	"fmt"
	"strings"
	"unicode"
)

// escapeName makes text safe for a terminal: control characters (ESC
// sequences that would recolour or move the cursor, newlines that would
// split a line, C1 controls) become \xHH; everything else is kept.
func escapeName(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			if r < 0x100 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
