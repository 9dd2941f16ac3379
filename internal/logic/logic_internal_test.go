package logic

import "time"

func fixedNow() time.Time { return time.UnixMilli(1763900000123) }
