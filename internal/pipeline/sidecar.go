package pipeline

import "strings"

// SafeName makes a synset name usable as part of a file name: "/" (as in
// read/write_head.n.01 or 24/7.n.01) and "%" are percent-escaped.
func SafeName(s string) string {
	if !strings.ContainsAny(s, "/%\\\x00") {
		return s
	}
	r := strings.NewReplacer("%", "%25", "/", "%2F", "\\", "%5C", "\x00", "%00")
	return r.Replace(s)
}
