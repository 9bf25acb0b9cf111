package prometheus

// UnixString formats a time as the API's Unix seconds, for tests.
var UnixString = unixString
