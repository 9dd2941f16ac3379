package logic

import "errors"

// ErrInvalidConfig is returned by New for a Config it cannot honour.
var ErrInvalidConfig = errors.New("logic: invalid config")
