package logic

import (
	"net/http"

	"github.com/danmaku/danmaku/internal/filter"
	"github.com/danmaku/danmaku/protocol"
)

// normalize is the form texts are measured, compared and filtered in: NFKC,
// case-folded, zero-width characters removed.
func (l *Logic) normalize(text string) string { return filter.Normalize(text) }

// filter applies the keyword filter to a viewer's message: in reject mode a
// match is refused with blocked_content, in mask mode the matched
// characters become '*'.
func (l *Logic) filter(b *protocol.Body) *protocol.CodeError {
	if l.cfg.Filter == nil {
		return nil
	}
	f := l.cfg.Filter.Load()
	if f == nil || f.Len() == 0 {
		return nil
	}
	if l.cfg.FilterMask {
		if masked, changed := f.Mask(b.Text); changed {
			l.metrics.Refusals.WithLabelValues("masked").Inc()
			b.Text = masked
		}
		return nil
	}
	if f.Match(b.Text) {
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
	writeJSON(w, http.StatusOK, map[string]int{"words": n})
	return nil
}
