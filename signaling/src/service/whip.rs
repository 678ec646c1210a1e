//! WHIP (RFC 9725) and WHEP: publishing into a room or watching it with one HTTP exchange of
//! SDP, for tools without our client. Sessions are addressed by their `Location`.

use super::*;

/// A WHIP/WHEP failure as an HTTP answer with a plain reason.
fn http_error(status: StatusCode, message: impl Into<String>) -> Response {
    let problem = q10_core_api::Problem {
        kind: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("error").into(),
        status: status.as_u16(),
        detail: Some(message.into()),
        field: None,
    };
    let mut r = (status, axum::Json(problem)).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    r
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// A refused WHIP/WHEP request, turned into a problem response at the end.
struct HttpError {
    status: StatusCode,
    message: String,
    challenge: bool,
}

impl HttpError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        HttpError { status, message: message.into(), challenge: false }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let mut r = http_error(self.status, self.message);
        if self.challenge {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

fn check_bearer(state: &Signaling, headers: &HeaderMap, room: &str) -> Result<JoinClaims, HttpError> {
    let Some(token) = bearer(headers) else {
        return Err(HttpError {
            status: StatusCode::UNAUTHORIZED,
            message: "send the join token as Authorization: Bearer <token>".into(),
            challenge: true,
        });
    };
    state
        .tokens
        .verify(token, room, OffsetDateTime::now_utc())
        .map_err(|e| HttpError::new(StatusCode::UNAUTHORIZED, e.to_string()))
}

fn read_offer(headers: &HeaderMap, body: &str) -> Result<SdpOffer, HttpError> {
    let sdp_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !sdp_type.trim().eq_ignore_ascii_case("application/sdp") {
        return Err(HttpError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "the offer must be sent as application/sdp"));
    }
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(HttpError::new(StatusCode::PAYLOAD_TOO_LARGE, "the offer is too large"));
    }
    SdpOffer::from_sdp_string(body).map_err(|e| HttpError::new(StatusCode::BAD_REQUEST, sdp_parse_error("offer", &e)))
}

pub(super) async fn whip(
    State(state): State<Arc<Signaling>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(room): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let ip = client_ip(&state, addr.ip(), &headers);
    http_session(state, ip, room, headers, body, PeerKind::Whip).await
}

pub(super) async fn whep(
    State(state): State<Arc<Signaling>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(room): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let ip = client_ip(&state, addr.ip(), &headers);
    http_session(state, ip, room, headers, body, PeerKind::Whep).await
}

async fn http_session(
    state: Arc<Signaling>,
    ip: IpAddr,
    room: String,
    headers: HeaderMap,
    body: String,
    kind: PeerKind,
) -> Response {
    if state.limiter.check_key(&ip).is_err() {
        return http_error(StatusCode::TOO_MANY_REQUESTS, "too many attempts; wait a minute");
    }
    if let Err(e) = crate::check_room_name(&room) {
        return http_error(StatusCode::NOT_FOUND, e);
    }
    let claims = match check_bearer(&state, &headers, &room) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let publishing = kind == PeerKind::Whip;
    if publishing && !claims.role.may_publish() {
        return http_error(StatusCode::FORBIDDEN, "this token's role may not publish");
    }
    let offer = match read_offer(&headers, &body) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let conn = state.connections.fetch_add(1, Ordering::Relaxed) + 1;
    let (outbox, _drop) = mpsc::unbounded_channel();
    if let Err(refusal) = state.rooms.admit(&claims, conn, outbox, publishing) {
        let text = match refusal {
            Refusal::Locked => "the room is locked",
            Refusal::Removed => "a host removed this identity from the meeting",
        };
        return http_error(StatusCode::FORBIDDEN, text);
    }
    // The session has no connection to talk on.
    state.rooms.detach(&room, &claims.sub, conn);
    let req = JoinRequest { room: room.clone(), identity: claims.sub.clone(), kind, may_publish: publishing };
    let joined = match state.sfu.join(req, offer).await {
        Ok(j) => j,
        Err(e) => {
            state.rooms.remove(&room, &claims.sub);
            return http_error(StatusCode::BAD_REQUEST, e.to_string());
        }
    };
    state.rooms.set_peer(&room, &claims.sub, joined.peer);
    let id = {
        use rand::Rng;
        let bytes: [u8; 16] = rand::rng().random();
        hex::encode(bytes)
    };
    state.http_sessions.lock().expect("sessions lock").insert(
        id.clone(),
        HttpSession { room: room.clone(), identity: claims.sub.clone(), peer: joined.peer, listed: true },
    );
    spawn_http_watch(state.clone(), id.clone(), joined.signals);
    let path = if publishing { "whip" } else { "whep" };
    created(&joined.answer, &format!("/{path}/{room}/{id}"))
}

/// `201 Created` with the SDP answer and the session's URL.
fn created(answer: &SdpAnswer, location: &str) -> Response {
    let mut r = (StatusCode::CREATED, answer.to_sdp_string()).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/sdp"));
    h.insert(header::LOCATION, HeaderValue::from_str(location).expect("ascii location"));
    r
}

/// Ends a WHIP/WHEP session when its media connection goes.
fn spawn_http_watch(state: Arc<Signaling>, id: String, mut signals: q10_sfu::SignalReceiver) {
    tokio::spawn(async move {
        while let Some(s) = signals.recv().await {
            if matches!(s, Signal::Gone) {
                break;
            }
        }
        let session = state.http_sessions.lock().expect("sessions lock").remove(&id);
        if let Some(s) = session
            && s.listed
        {
            state.rooms.remove(&s.room, &s.identity);
        }
    });
}

/// Watching a street camera: the token must be one the core minted for this camera.
pub(super) async fn whep_camera(
    State(state): State<Arc<Signaling>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(camera): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let ip = client_ip(&state, addr.ip(), &headers);
    if state.limiter.check_key(&ip).is_err() {
        return http_error(StatusCode::TOO_MANY_REQUESTS, "too many attempts; wait a minute");
    }
    let Some(room) = camera.parse::<i64>().ok().filter(|id| *id > 0).map(q10_core_api::camera_room) else {
        return http_error(StatusCode::NOT_FOUND, "a camera is addressed by its number");
    };
    let claims = match check_bearer(&state, &headers, &room) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let offer = match read_offer(&headers, &body) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let req =
        JoinRequest { room: room.clone(), identity: claims.sub.clone(), kind: PeerKind::Camera, may_publish: false };
    let joined = match state.sfu.join(req, offer).await {
        Ok(j) => j,
        Err(e @ SfuError::NoSuchCamera) => return http_error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e) => return http_error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let id = {
        use rand::Rng;
        let bytes: [u8; 16] = rand::rng().random();
        hex::encode(bytes)
    };
    let session = HttpSession { room, identity: claims.sub.clone(), peer: joined.peer, listed: false };
    state.http_sessions.lock().expect("sessions lock").insert(id.clone(), session);
    spawn_http_watch(state.clone(), id.clone(), joined.signals);
    created(&joined.answer, &format!("/whep/cameras/{camera}/{id}"))
}

pub(super) async fn end_camera_session(
    state: State<Arc<Signaling>>,
    Path((camera, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(room) = camera.parse::<i64>().ok().filter(|id| *id > 0).map(q10_core_api::camera_room) else {
        return http_error(StatusCode::NOT_FOUND, "no such session");
    };
    end_http_session(state, Path((room, id)), headers).await
}

pub(super) async fn end_http_session(
    State(state): State<Arc<Signaling>>,
    Path((room, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let claims = match check_bearer(&state, &headers, &room) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let session = {
        let mut sessions = state.http_sessions.lock().expect("sessions lock");
        match sessions.get(&id) {
            Some(s) if s.room == room && s.identity == claims.sub => sessions.remove(&id),
            Some(_) => return http_error(StatusCode::FORBIDDEN, "this session belongs to another participant"),
            None => None,
        }
    };
    let Some(s) = session else { return http_error(StatusCode::NOT_FOUND, "no such session") };
    if s.listed {
        state.rooms.remove(&s.room, &s.identity);
    }
    state.sfu.leave(s.peer).await;
    StatusCode::OK.into_response()
}
