package logic

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/danmaku/danmaku/internal/bus"
	"github.com/danmaku/danmaku/internal/moderation"
	"github.com/danmaku/danmaku/protocol"
)

// ModerationRequest is the body of the mute and ban endpoints. User is the
// platform's user id (a token's sub), PublicID the id viewers see in
// messages (u_… or g_…); give one. Seconds 0 means forever.
type ModerationRequest struct {
	User     string `json:"user,omitempty"`
	PublicID string `json:"publicId,omitempty"`
	Seconds  int64  `json:"seconds,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// MuteInfo and BanInfo are how the API lists mutes and bans.
type MuteInfo struct {
	Room     string     `json:"room,omitempty"`
	PublicID string     `json:"publicId"`
	Until    *time.Time `json:"until,omitempty"`
	Reason   string     `json:"reason,omitempty"`
	By       string     `json:"by,omitempty"`
	At       time.Time  `json:"at"`
}

// moderationRoutes adds the moderation endpoints to mux.
func (l *Logic) moderationRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/rooms/{room}/mutes", l.route("mute", l.muteHandler(true)))
	mux.HandleFunc("GET /v1/rooms/{room}/mutes", l.route("mutes", l.listMutes(true)))
	mux.HandleFunc("DELETE /v1/rooms/{room}/mutes/{user}", l.route("unmute", l.unmuteHandler(true)))
	mux.HandleFunc("POST /v1/mutes", l.route("mute", l.muteHandler(false)))
	mux.HandleFunc("GET /v1/mutes", l.route("mutes", l.listMutes(false)))
	mux.HandleFunc("DELETE /v1/mutes/{user}", l.route("unmute", l.unmuteHandler(false)))
	mux.HandleFunc("POST /v1/bans", l.route("ban", l.banHandler))
	mux.HandleFunc("GET /v1/bans", l.route("bans", l.listBans))
	mux.HandleFunc("DELETE /v1/bans/{user}", l.route("unban", l.unbanHandler))
	mux.HandleFunc("DELETE /v1/rooms/{room}/messages/{ref}", l.route("delete", l.deleteHandler))
	mux.HandleFunc("GET /v1/rooms/{room}/settings", l.route("settings", l.getSettings))
	mux.HandleFunc("PUT /v1/rooms/{room}/settings", l.route("settings", l.putSettings))
	mux.HandleFunc("POST /v1/filter/reload", l.route("filter", l.reloadFilter))
}

func (l *Logic) store() (*moderation.Store, error) {
	if l.mod == nil {
		return nil, &httpError{http.StatusServiceUnavailable, protocol.Errorf(protocol.CodeUnavailable, "moderation is not configured on this node")}
	}
	return l.mod, nil
}

func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &httpError{http.StatusRequestEntityTooLarge, protocol.Errorf(protocol.CodeTooLarge, "request body is too large")}
		}
		return badRequest("body is not valid: %v", err)
	}
	return nil
}

// target resolves the user a moderation request names to a public id.
func (l *Logic) target(req ModerationRequest) (string, error) {
	switch {
	case req.User != "" && req.PublicID != "":
		return "", badRequest("give user or publicId, not both")
	case req.User != "":
		if len(req.User) > 128 {
			return "", badRequest("user must be at most 128 bytes")
		}
		return l.cfg.PublicID(req.User), nil
	case req.PublicID != "":
		if len(req.PublicID) > 128 {
			return "", badRequest("publicId must be at most 128 bytes")
		}
		return req.PublicID, nil
	}
	return "", badRequest("user or publicId is required")
}

func untilFrom(seconds int64, now time.Time) (time.Time, error) {
	switch {
	case seconds < 0 || seconds > 10*365*24*3600:
		return time.Time{}, badRequest("seconds must be 0 (forever) to ten years")
	case seconds == 0:
		return time.Time{}, nil
	}
	return now.Add(time.Duration(seconds) * time.Second), nil
}

// modError maps the moderation store's validation errors to 400.
func modError(err error) error {
	for _, e := range []error{moderation.ErrInvalidRoom, moderation.ErrInvalidUser, moderation.ErrInvalidUntil, moderation.ErrInvalidReason, moderation.ErrInvalidSettings} {
		if errors.Is(err, e) {
			return badRequest("%v", err)
		}
	}
	return err
}

// Actor is who takes a moderation action, for the record and the audit
// log.
type Actor struct {
	// By is what the mute, ban or delete notice records as its author:
	// "api" for an API key, the user's public id for a token.
	By string
	// Role is "api" for an API key, else the token's role.
	Role string
	// Key is the fingerprint of the API key (keyFingerprint); "" for a
	// token.
	Key string
	// Via is how the action came: "api" (HTTP) or "ws" (the moderate op).
	Via string
}

// audit logs a moderation action that took effect, at info, with who did
// it, what, where and to whom; attrs add the action's details.
func (l *Logic) audit(a Actor, action, room, target string, attrs ...any) {
	args := []any{"action", action, "by", a.By, "role", a.Role}
	if a.Key != "" {
		args = append(args, "key", a.Key)
	}
	args = append(args, "via", a.Via)
	if room != "" {
		args = append(args, "room", room)
	}
	if target != "" {
		args = append(args, "target", target)
	}
	l.log.Info("moderation", append(args, attrs...)...)
}

// MuteUser mutes publicID in room ("" for everywhere); it serves both the
// API and moderators over WebSocket.
func (l *Logic) MuteUser(ctx context.Context, room, publicID string, seconds int64, reason string, by Actor) error {
	store, err := l.store()
	if err != nil {
		return err
	}
	until, err := untilFrom(seconds, l.cfg.Now())
	if err != nil {
		return err
	}
	if err := modError(store.Mute(ctx, moderation.Mute{Room: room, User: publicID, Until: until, Reason: reason, By: by.By})); err != nil {
		return err
	}
	l.audit(by, "mute", room, publicID, "seconds", seconds, "reason", reason)
	return nil
}

// UnmuteUser ends publicID's mute in room ("" for everywhere).
func (l *Logic) UnmuteUser(ctx context.Context, room, publicID string, by Actor) error {
	store, err := l.store()
	if err != nil {
		return err
	}
	if err := modError(store.Unmute(ctx, room, publicID)); err != nil {
		return err
	}
	l.audit(by, "unmute", room, publicID)
	return nil
}

// BanUser bans publicID; every gateway closes its connections with 4503.
func (l *Logic) BanUser(ctx context.Context, publicID string, seconds int64, reason string, by Actor) error {
	store, err := l.store()
	if err != nil {
		return err
	}
	until, err := untilFrom(seconds, l.cfg.Now())
	if err != nil {
		return err
	}
	if err := modError(store.Ban(ctx, moderation.Ban{User: publicID, Until: until, Reason: reason, By: by.By})); err != nil {
		return err
	}
	l.audit(by, "ban", "", publicID, "seconds", seconds, "reason", reason)
	return nil
}

// UnbanUser lifts publicID's ban.
func (l *Logic) UnbanUser(ctx context.Context, publicID string, by Actor) error {
	store, err := l.store()
	if err != nil {
		return err
	}
	if err := modError(store.Unban(ctx, publicID)); err != nil {
		return err
	}
	l.audit(by, "unban", "", publicID)
	return nil
}

func (l *Logic) muteHandler(inRoom bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		room, err := scopeRoom(r, inRoom)
		if err != nil {
			return err
		}
		var req ModerationRequest
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
		id, err := l.target(req)
		if err != nil {
			return err
		}
		if err := l.MuteUser(r.Context(), room, id, req.Seconds, req.Reason, principalOf(r).actor()); err != nil {
			return err
		}
		m, _ := l.mod.MutedFor(room, id)
		writeJSON(w, http.StatusOK, muteInfo(moderation.Mute{Room: room, User: id, Until: m.Until, Reason: m.Reason, By: m.By, At: m.At}))
		return nil
	}
}

// scopeRoom is the room of a room-scoped endpoint, or "" (everywhere).
func scopeRoom(r *http.Request, inRoom bool) (string, error) {
	if !inRoom {
		return "", nil
	}
	return roomParam(r)
}

func muteInfo(m moderation.Mute) MuteInfo {
	mi := MuteInfo{Room: m.Room, PublicID: m.User, Reason: m.Reason, By: m.By, At: m.At}
	if !m.Until.IsZero() {
		u := m.Until
		mi.Until = &u
	}
	return mi
}

func (l *Logic) listMutes(inRoom bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		store, err := l.store()
		if err != nil {
			return err
		}
		room, err := scopeRoom(r, inRoom)
		if err != nil {
			return err
		}
		out := []MuteInfo{}
		for _, m := range store.Mutes(room) {
			if inRoom || m.Room == "" || r.URL.Query().Get("all") != "" {
				out = append(out, muteInfo(m))
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"mutes": out})
		return nil
	}
}

func (l *Logic) unmuteHandler(inRoom bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		room, err := scopeRoom(r, inRoom)
		if err != nil {
			return err
		}
		if err := l.UnmuteUser(r.Context(), room, r.PathValue("user"), principalOf(r).actor()); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (l *Logic) banHandler(w http.ResponseWriter, r *http.Request) error {
	var req ModerationRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	id, err := l.target(req)
	if err != nil {
		return err
	}
	if err := l.BanUser(r.Context(), id, req.Seconds, req.Reason, principalOf(r).actor()); err != nil {
		return err
	}
	b, _ := l.mod.Banned(id)
	writeJSON(w, http.StatusOK, muteInfo(moderation.Mute{User: id, Until: b.Until, Reason: b.Reason, By: b.By, At: b.At}))
	return nil
}

func (l *Logic) listBans(w http.ResponseWriter, r *http.Request) error {
	store, err := l.store()
	if err != nil {
		return err
	}
	out := []MuteInfo{}
	for _, b := range store.Bans() {
		out = append(out, muteInfo(moderation.Mute{User: b.User, Until: b.Until, Reason: b.Reason, By: b.By, At: b.At}))
	}
	writeJSON(w, http.StatusOK, map[string]any{"bans": out})
	return nil
}

func (l *Logic) unbanHandler(w http.ResponseWriter, r *http.Request) error {
	if err := l.UnbanUser(r.Context(), r.PathValue("user"), principalOf(r).actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// DeleteMessage removes a message, named by offset or id, from room's
// history and sends the room a delete message so that clients remove it
// from screen. It returns the delete message's offset.
func (l *Logic) DeleteMessage(ctx context.Context, room, ref string, by Actor) (uint64, error) {
	offset, id, err := l.findMessage(ctx, room, ref)
	if err != nil {
		return 0, err
	}
	if err := l.cfg.Store.Delete(ctx, room, offset); err != nil {
		if errors.Is(err, bus.ErrNotFound) {
			return 0, &httpError{http.StatusNotFound, protocol.Errorf(protocol.CodeNotFound, "no message %s in room %s", ref, room)}
		}
		return 0, err
	}
	data, _ := json.Marshal(map[string]any{"ids": []string{id}, "offsets": []uint64{offset}, "by": by.By})
	body := protocol.Body{Type: protocol.TypeDelete, Data: data}
	offsets, err := l.cfg.Store.Append(ctx, room, []bus.Record{l.finish(&body)})
	if err != nil {
		return 0, err
	}
	l.audit(by, "delete", room, id, "offset", offset)
	return offsets[0], nil
}

// findMessage resolves ref, an offset or a message id, within the room's
// retained history.
func (l *Logic) findMessage(ctx context.Context, room, ref string) (uint64, string, error) {
	want, isOffset := uint64(0), false
	if n, err := strconv.ParseUint(ref, 10, 64); err == nil {
		want, isOffset = n, true
	}
	var after uint64
	for {
		msgs, _, err := l.cfg.Store.After(ctx, room, after, maxHistory)
		if err != nil {
			return 0, "", err
		}
		for _, m := range msgs {
			var head struct {
				ID string `json:"id"`
			}
			if isOffset && m.Offset != want {
				continue
			}
			if err := json.Unmarshal(m.Body, &head); err != nil {
				continue
			}
			if isOffset || head.ID == ref {
				return m.Offset, head.ID, nil
			}
		}
		if len(msgs) < maxHistory {
			return 0, "", &httpError{http.StatusNotFound, protocol.Errorf(protocol.CodeNotFound, "no message %s in room %s", ref, room)}
		}
		after = msgs[len(msgs)-1].Offset
	}
}

func (l *Logic) deleteHandler(w http.ResponseWriter, r *http.Request) error {
	room, err := roomParam(r)
	if err != nil {
		return err
	}
	offset, err := l.DeleteMessage(r.Context(), room, r.PathValue("ref"), principalOf(r).actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]uint64{"offset": offset})
	return nil
}

// SettingsRequest changes room settings; absent fields keep their value.
type SettingsRequest struct {
	SlowModeSeconds *int  `json:"slowModeSeconds,omitempty"`
	Closed          *bool `json:"closed,omitempty"`
	MaxTextRunes    *int  `json:"maxTextRunes,omitempty"`
}

// RoomSettingsInfo is how the API shows room settings.
type RoomSettingsInfo struct {
	SlowModeSeconds int  `json:"slowModeSeconds"`
	Closed          bool `json:"closed"`
	MaxTextRunes    int  `json:"maxTextRunes"` // the effective limit
}

func (l *Logic) settingsInfo(room string) RoomSettingsInfo {
	rs := moderation.RoomSettings{}
	if l.mod != nil {
		rs = l.mod.Room(room)
	}
	return RoomSettingsInfo{SlowModeSeconds: rs.SlowModeSeconds, Closed: rs.Closed, MaxTextRunes: rs.TextLimit(l.cfg.MaxTextRunes)}
}

// UpdateRoom applies a settings change at once on every node.
func (l *Logic) UpdateRoom(ctx context.Context, room string, req SettingsRequest, by Actor) (RoomSettingsInfo, error) {
	store, err := l.store()
	if err != nil {
		return RoomSettingsInfo{}, err
	}
	rs := store.Room(room)
	if req.SlowModeSeconds != nil {
		rs.SlowModeSeconds = *req.SlowModeSeconds
	}
	if req.Closed != nil {
		rs.Closed = *req.Closed
	}
	if req.MaxTextRunes != nil {
		rs.MaxTextRunes = *req.MaxTextRunes
	}
	if err := modError(store.SetRoom(ctx, room, rs)); err != nil {
		return RoomSettingsInfo{}, err
	}
	l.audit(by, "settings", room, "", "slowModeSeconds", rs.SlowModeSeconds, "closed", rs.Closed, "maxTextRunes", rs.MaxTextRunes)
	return l.settingsInfo(room), nil
}

func (l *Logic) getSettings(w http.ResponseWriter, r *http.Request) error {
	room, err := roomParam(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l.settingsInfo(room))
	return nil
}

func (l *Logic) putSettings(w http.ResponseWriter, r *http.Request) error {
	room, err := roomParam(r)
	if err != nil {
		return err
	}
	var req SettingsRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	info, err := l.UpdateRoom(r.Context(), room, req, principalOf(r).actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

// Moderate carries out a moderate request from a moderator's connection.
// The gateway checks the role; this checks the request.
func (l *Logic) Moderate(ctx context.Context, by protocol.User, msg *protocol.ClientMessage) error {
	if by.Role != protocol.RoleModerator && by.Role != protocol.RoleAdmin {
		return protocol.Errorf(protocol.CodeForbidden, "moderation needs a moderator or admin token")
	}
	room := msg.Room
	if room != "" && !protocol.ValidRoom(room) {
		return protocol.Errorf(protocol.CodeBadRequest, "invalid room name")
	}
	needUser := func() error {
		if msg.User == "" || len(msg.User) > 128 {
			return protocol.Errorf(protocol.CodeBadRequest, "user (the public id shown in messages) is required")
		}
		return nil
	}
	actor := Actor{By: by.ID, Role: by.Role, Via: "ws"}
	var err error
	switch msg.Action {
	case "mute":
		if err = needUser(); err == nil {
			err = l.MuteUser(ctx, room, msg.User, msg.Seconds, msg.Reason, actor)
		}
	case "unmute":
		if err = needUser(); err == nil {
			err = l.UnmuteUser(ctx, room, msg.User, actor)
		}
	case "ban":
		if err = needUser(); err == nil {
			err = l.BanUser(ctx, msg.User, msg.Seconds, msg.Reason, actor)
		}
	case "unban":
		if err = needUser(); err == nil {
			err = l.UnbanUser(ctx, msg.User, actor)
		}
	case "delete":
		ref := msg.MsgID
		if msg.Offset != nil {
			ref = strconv.FormatUint(*msg.Offset, 10)
		}
		if room == "" || ref == "" {
			return protocol.Errorf(protocol.CodeBadRequest, "delete needs room and msgId or offset")
		}
		_, err = l.DeleteMessage(ctx, room, ref, actor)
	case "settings":
		if room == "" {
			return protocol.Errorf(protocol.CodeBadRequest, "settings needs room")
		}
		_, err = l.UpdateRoom(ctx, room, SettingsRequest{SlowModeSeconds: msg.SlowModeSeconds, Closed: msg.Closed, MaxTextRunes: msg.MaxTextRunes}, actor)
	default:
		return protocol.Errorf(protocol.CodeBadRequest, "action must be mute, unmute, ban, unban, delete or settings")
	}
	var he *httpError
	if errors.As(err, &he) {
		return he.err
	}
	return err
}
