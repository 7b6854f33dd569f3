package adr32

import "strings"

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
