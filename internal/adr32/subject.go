package adr32

import (
	"fmt"
	"strings"
)

// Matches reports whether the concrete subject matches pattern, a
// subscription subject that may hold the wildcards '*' and '>'.
func Matches(pattern, subject string) bool {
	for {
		pTok, pRest, pMore := strings.Cut(pattern, ".")
		sTok, sRest, sMore := strings.Cut(subject, ".")
		switch {
		case pTok == ">":
			return sTok != ""
		case pTok != "*" && pTok != sTok:
			return false
		case !pMore || !sMore:
			return pMore == sMore
		}
		pattern, subject = pRest, sRest
	}
}

// Overlap reports whether some subject matches both patterns, so that a
// message to it would reach both subscriptions.
func Overlap(a, b string) bool {
	for {
		aTok, aRest, aMore := strings.Cut(a, ".")
		bTok, bRest, bMore := strings.Cut(b, ".")
		switch {
		case aTok == ">" || bTok == ">":
			return true // each side has a token here, which '>' needs
		case aTok != "*" && bTok != "*" && aTok != bTok:
			return false
		case !aMore || !bMore:
			return aMore == bMore
		}
		a, b = aRest, bRest
	}
}

// discoveryVerbs are the verbs every service answers under its API prefix.
var discoveryVerbs = []string{"PING", "INFO", "STATS"}

// CheckDiscoveryOverlap reports an endpoint subject that would receive
// discovery requests: one under the API prefix, which is reserved, or one
// whose wildcards match a discovery subject (">" or "*.PING" on $SRV).
func CheckDiscoveryOverlap(subject, prefix string) error {
	if subject == prefix || strings.HasPrefix(subject, prefix+".") {
		return fmt.Errorf("subject %q is under %s, which is reserved for discovery", subject, prefix)
	}
	for _, verb := range discoveryVerbs {
		for _, pattern := range []string{prefix + "." + verb, prefix + "." + verb + ".*", prefix + "." + verb + ".*.*"} {
			if Overlap(subject, pattern) {
				return fmt.Errorf("subject %q overlaps the discovery subject %s: its endpoint would receive the discovery requests meant for every service", subject, pattern)
			}
		}
	}
	return nil
}
