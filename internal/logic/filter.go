package logic

import (
	"net/http"

	"github.com/danmaku/danmaku/internal/filter"
	"github.com/danmaku/danmaku/protocol"
)

// activeFilter is the keyword filter to judge one message by, nil if none
// or its list is empty. Send loads it once, before normalizing, because
// whether the text needs the mapping for masking depends on it.
func (l *Logic) activeFilter() *filter.Filter {
	if l.cfg.Filter == nil {
		return nil
	}
	f := l.cfg.Filter.Load()
	if f.Len() == 0 {
		return nil
	}
	return f
}

// filter applies the keyword filter f (from activeFilter) to a viewer's
// message, whose text validate normalized: in reject mode a match is
// refused with blocked_content, in mask mode the matched characters
// become '*'.
func (l *Logic) filter(b *protocol.Body, f *filter.Filter, text filter.Normalized) *protocol.CodeError {
	if f == nil {
		return nil
	}
	if l.cfg.FilterMask {
		if masked, changed := f.MaskNormalized(text); changed {
			l.metrics.Refusals.WithLabelValues("masked").Inc()
			b.Text = masked
		}
		return nil
	}
	if f.MatchNormalized(text) {
		return protocol.Errorf(protocol.CodeBlockedContent, "the message contains a blocked word")
	}
	return nil
}

// reloadFilter serves POST /v1/filter/reload: the word list file is read
// again and swapped in atomically.
func (l *Logic) reloadFilter(w http.ResponseWriter, r *http.Request) error {
	if l.cfg.ReloadFilter == nil {
		return &httpError{http.StatusServiceUnavailable, protocol.Errorf(protocol.CodeUnavailable, "no word list file is configured (--blocked-words-file)")}
	}
	n, err := l.cfg.ReloadFilter()
	if err != nil {
		return &httpError{http.StatusUnprocessableEntity, protocol.Errorf(protocol.CodeBadRequest, "reloading the word list: %v", err)}
	}
	l.audit(principalOf(r).actor(), "filter_reload", "", "", "words", n)
	writeJSON(w, http.StatusOK, map[string]int{"words": n})
	return nil
}
