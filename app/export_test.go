package app

// MainCode exposes mainCode to the external tests.
var MainCode = mainCode
