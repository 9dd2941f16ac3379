package logic

import (
	"math"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/danmaku/danmaku/internal/filter"
	"github.com/danmaku/danmaku/internal/overview"
	"github.com/danmaku/danmaku/protocol"
)

// overviewRoutes adds the operator's read endpoints: the nodes, the rooms
// and the keyword filter.
func (l *Logic) overviewRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/nodes", l.route("nodes", l.nodes))
	mux.HandleFunc("GET /v1/rooms", l.route("rooms", l.rooms))
	mux.HandleFunc("GET /v1/filter", l.route("filter_info", l.filterInfo))
	mux.HandleFunc("POST /v1/filter/test", l.route("filter_test", l.filterTest))
}

func (l *Logic) overview() (*overview.Table, error) {
	if l.cfg.Overview == nil {
		return nil, &httpError{http.StatusServiceUnavailable, protocol.Errorf(protocol.CodeUnavailable, "node stats are not kept on this node")}
	}
	return l.cfg.Overview, nil
}

func (l *Logic) nodes(w http.ResponseWriter, _ *http.Request) error {
	t, err := l.overview()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t.Nodes())
	return nil
}

// Bounds of GET /v1/rooms.
const (
	defaultRoomsLimit = 50
	maxRoomsLimit     = 500
	maxRoomsQuery     = protocol.MaxRoomLen
)

func (l *Logic) rooms(w http.ResponseWriter, r *http.Request) error {
	t, err := l.overview()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	search := q.Get("q")
	if len(search) > maxRoomsQuery || !utf8.ValidString(search) {
		return badRequest("q must be at most %d bytes of UTF-8", maxRoomsQuery)
	}
	order := overview.OrderOnline
	switch s := q.Get("sort"); s {
	case "", string(overview.OrderOnline):
	case string(overview.OrderRate):
		order = overview.OrderRate
	default:
		return badRequest("sort must be online or rate")
	}
	limit := defaultRoomsLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxRoomsLimit {
			return badRequest("limit must be 1–%d", maxRoomsLimit)
		}
		limit = n
	}
	p := principalOf(r)
	if p.allRooms() {
		writeJSON(w, http.StatusOK, t.Rooms(search, order, limit))
		return nil
	}
	// A token limited to some rooms lists only those, counted before the
	// limit as for everyone.
	out := overview.RoomList{Rooms: []overview.RoomRate{}}
	for _, room := range t.Rooms(search, order, math.MaxInt).Rooms {
		if p.allowsRoom(room.Room) {
			out.Total++
			if len(out.Rooms) < limit {
				out.Rooms = append(out.Rooms, room)
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// filterInfo is the answer of GET /v1/filter.
type filterInfo struct {
	Words int    `json:"words"`
	File  string `json:"file"`
	// Mode is what the send pipeline does with a viewer's message that
	// holds a word: reject (nack blocked_content) or mask.
	Mode string `json:"mode"`
}

func (l *Logic) filterInfo(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, filterInfo{Words: l.activeFilter().Len(), File: l.cfg.FilterFile, Mode: l.filterMode().String()})
	return nil
}

func (l *Logic) filterMode() filter.Mode {
	if l.cfg.FilterMask {
		return filter.Mask
	}
	return filter.Reject
}

// FilterTestRequest is the body of POST /v1/filter/test.
type FilterTestRequest struct {
	Text string `json:"text"`
}

// FilterTestResult is its answer. Pass is whether the text holds no word
// (it would go out as written); Masked is the text as mask mode delivers
// it, whichever mode is configured; Mode says what a viewer's send that
// does not pass gets.
type FilterTestResult struct {
	Pass   bool   `json:"pass"`
	Masked string `json:"masked"`
	Words  int    `json:"words"`
	Mode   string `json:"mode"`
}

// filterTest judges a text as the send pipeline would: the same tidying
// and normalization (validate), the same match and mask (filter).
func (l *Logic) filterTest(w http.ResponseWriter, r *http.Request) error {
	var req FilterTestRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if !utf8.ValidString(req.Text) {
		return badRequest("text is not valid UTF-8")
	}
	text := cleanText(req.Text)
	if text == "" {
		return badRequest("text is empty")
	}
	f := l.activeFilter()
	normalized := filter.NormalizeForMask(text)
	masked, _ := f.MaskNormalized(normalized)
	writeJSON(w, http.StatusOK, FilterTestResult{
		Pass: !f.MatchNormalized(normalized), Masked: masked, Words: f.Len(), Mode: l.filterMode().String(),
	})
	return nil
}
