//! The SASL gate of one connection on a SASL_PLAINTEXT or SASL_SSL listener, as Kafka's
//! SaslServerAuthenticator runs it:
//!
//! - first, ApiVersions (once, answered by the normal handler) and then SaslHandshake;
//! - an enabled mechanism is acknowledged with the enabled list; any other gets
//!   UNSUPPORTED_SASL_MECHANISM with that list, and the connection closes;
//! - after SaslHandshake v1 each token travels in a SaslAuthenticate request and response;
//!   after v0 tokens are raw size-prefixed frames without a Kafka header;
//! - failure answers SASL_AUTHENTICATION_FAILED (v1; v0 has no way to say it) after
//!   `connection.failed.authentication.delay.ms`, and the connection closes;
//! - any other request before authentication completes closes the connection.
//!
//! Tokens are never logged; the reasons returned for the log name the user and what was wrong.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use kafka_protocol::messages::{
    ApiKey, ResponseKind, SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest,
    SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, StrBytes};

use super::scram::{self, ScramServer};
use super::{plain, Mechanism, Security};
use crate::broker::dispatch;
use crate::broker::error::ConnectionError;
use crate::broker::handlers::code;
use crate::broker::server::RequestContext;

/// Kafka's `sasl.server.max.receive.size`: the largest frame read before authentication.
pub const MAX_RECEIVE: usize = 524_288;

/// What the server must send.
pub enum Outgoing {
    /// A Kafka response.
    Response(RequestContext, ResponseKind),
    /// A size-prefixed SASL token (after SaslHandshake v0).
    Token(Bytes),
}

/// What the server does with one frame.
pub enum Step {
    /// Not part of the exchange: dispatch it as usual (ApiVersions before the handshake).
    Dispatch,
    /// Send this and read on.
    Send(Outgoing),
    /// Send this; the client is authenticated as `principal`.
    Authenticated { send: Outgoing, principal: String },
    /// Wait the failure delay, send the answer if there is one, close. `reason` is for the log.
    Fail { send: Option<Outgoing>, reason: String },
    /// Close without an answer.
    Close(ConnectionError),
}

enum State {
    Start,
    /// ApiVersions answered: only SaslHandshake may follow.
    Versions,
    Authenticating {
        mechanism: Mechanism,
        /// SaslHandshake v1+: tokens in SaslAuthenticate.
        framed: bool,
        scram: Option<ScramServer>,
    },
    Done,
}

pub struct SaslSession {
    security: Arc<Security>,
    peer: IpAddr,
    state: State,
}

/// The outcome of one token.
enum Token {
    Continue(Vec<u8>),
    Complete(Vec<u8>, String),
}

/// A failed token: what the client is told, and what the log says.
struct Failure {
    client: String,
    log: String,
}

impl SaslSession {
    pub fn new(security: Arc<Security>, peer: IpAddr) -> Self {
        SaslSession {
            security,
            peer,
            state: State::Start,
        }
    }

    pub fn authenticated(&self) -> bool {
        matches!(self.state, State::Done)
    }

    pub fn failure_delay(&self) -> std::time::Duration {
        self.security.failure_delay
    }

    /// Handles one frame read before authentication completed.
    pub async fn on_frame(&mut self, frame: Bytes, client_host: &str, listener: usize) -> Step {
        if let State::Authenticating { framed: false, .. } = self.state {
            return match self.token(&frame).await {
                Ok(Token::Continue(t)) => Step::Send(Outgoing::Token(t.into())),
                Ok(Token::Complete(t, principal)) => {
                    self.state = State::Done;
                    Step::Authenticated {
                        send: Outgoing::Token(t.into()),
                        principal,
                    }
                }
                Err(f) => Step::Fail {
                    send: None,
                    reason: f.log,
                },
            };
        }
        let (key, version) = match dispatch::peek_key(&frame) {
            Ok(k) => k,
            Err(e) => return Step::Close(e),
        };
        match (&self.state, key) {
            (State::Start, ApiKey::ApiVersions) => {
                // An ApiVersions of a version we cannot parse gets UNSUPPORTED_VERSION from the
                // handler and may be retried lower; only a usable one moves the state on.
                if dispatch::spec(ApiKey::ApiVersions).is_some_and(|s| (s.min..=s.max).contains(&version)) {
                    self.state = State::Versions;
                }
                Step::Dispatch
            }
            (State::Start | State::Versions, ApiKey::SaslHandshake) => self.handshake(frame, client_host, listener),
            (State::Authenticating { framed: true, .. }, ApiKey::SaslAuthenticate) => {
                self.authenticate(frame, client_host, listener).await
            }
            _ => Step::Close(ConnectionError::Unauthenticated(format!(
                "{key:?} v{version} {}",
                match self.state {
                    State::Start | State::Versions => "before the SASL handshake",
                    _ => "during SASL authentication",
                }
            ))),
        }
    }

    fn handshake(&mut self, mut frame: Bytes, client_host: &str, listener: usize) -> Step {
        let (ctx, version) = match decode_header(&mut frame, client_host, listener) {
            Ok(x) => x,
            Err(e) => return Step::Close(e),
        };
        let req = match SaslHandshakeRequest::decode(&mut frame, version) {
            Ok(r) => r,
            Err(e) => return Step::Close(bad_body("SaslHandshake", version, e)),
        };
        let mut resp = SaslHandshakeResponse::default();
        resp.mechanisms = self
            .security
            .mechanism_names()
            .into_iter()
            .map(StrBytes::from_static_str)
            .collect();
        let requested = req.mechanism.to_string();
        match Mechanism::from_name(&requested).filter(|m| self.security.mechanisms.contains(m)) {
            Some(mechanism) => {
                self.state = State::Authenticating {
                    mechanism,
                    framed: version >= 1,
                    scram: None,
                };
                Step::Send(Outgoing::Response(ctx, ResponseKind::SaslHandshake(resp)))
            }
            None => {
                resp.error_code = code::UNSUPPORTED_SASL_MECHANISM;
                Step::Fail {
                    send: Some(Outgoing::Response(ctx, ResponseKind::SaslHandshake(resp))),
                    reason: format!(
                        "SASL mechanism {requested:?} is not enabled (enabled: {})",
                        self.security.mechanism_names().join(", ")
                    ),
                }
            }
        }
    }

    async fn authenticate(&mut self, mut frame: Bytes, client_host: &str, listener: usize) -> Step {
        let (ctx, version) = match decode_header(&mut frame, client_host, listener) {
            Ok(x) => x,
            Err(e) => return Step::Close(e),
        };
        let req = match SaslAuthenticateRequest::decode(&mut frame, version) {
            Ok(r) => r,
            Err(e) => return Step::Close(bad_body("SaslAuthenticate", version, e)),
        };
        let mut resp = SaslAuthenticateResponse::default();
        match self.token(&req.auth_bytes).await {
            Ok(Token::Continue(t)) => {
                resp.auth_bytes = t.into();
                Step::Send(Outgoing::Response(ctx, ResponseKind::SaslAuthenticate(resp)))
            }
            Ok(Token::Complete(t, principal)) => {
                resp.auth_bytes = t.into();
                self.state = State::Done;
                Step::Authenticated {
                    send: Outgoing::Response(ctx, ResponseKind::SaslAuthenticate(resp)),
                    principal,
                }
            }
            Err(f) => {
                resp.error_code = code::SASL_AUTHENTICATION_FAILED;
                resp.error_message = Some(StrBytes::from_string(f.client));
                Step::Fail {
                    send: Some(Outgoing::Response(ctx, ResponseKind::SaslAuthenticate(resp))),
                    reason: f.log,
                }
            }
        }
    }

    /// Runs one token of the exchange.
    async fn token(&mut self, token: &[u8]) -> Result<Token, Failure> {
        let State::Authenticating { mechanism, scram, .. } = &mut self.state else {
            return Err(Failure {
                client: "unexpected SASL token".into(),
                log: "SASL token outside authentication".into(),
            });
        };
        let mechanism = *mechanism;
        let security = Arc::clone(&self.security);
        let peer = self.peer;
        let invalid = || {
            format!(
                "Authentication failed during authentication due to invalid credentials with SASL mechanism {}",
                mechanism.name()
            )
        };
        let fail = |user: Option<&str>, why: String| {
            security.limiter.failed(peer, Instant::now());
            Failure {
                client: invalid(),
                log: match user {
                    Some(u) => format!("authentication of user {u:?} with {} failed: {why}", mechanism.name()),
                    None => format!("authentication with {} failed: {why}", mechanism.name()),
                },
            }
        };
        // The limit applies where a password is about to be checked: PLAIN's only token, and
        // SCRAM's first (the proof follows on the same connection).
        let starting = !matches!(mechanism, Mechanism::Scram(_)) || scram.is_none();
        if starting {
            if let Err(wait) = security.limiter.check(peer, Instant::now()) {
                let secs = wait.as_secs_f64().ceil() as u64;
                return Err(Failure {
                    client: format!("too many failed authentications from {peer}; try again in {secs} s"),
                    log: format!("authentication refused: too many failures from {peer} (retry in {secs} s)"),
                });
            }
        }
        match mechanism {
            Mechanism::Plain => {
                let msg = plain::parse(token).map_err(|e| fail(None, e.to_string()))?;
                let user = msg.user.clone();
                let sec = Arc::clone(&security);
                // A stat (and maybe a read) of the users file, then one PBKDF2 run: off the
                // async workers.
                let ok = tokio::task::spawn_blocking(move || {
                    let users = sec.users.current();
                    match users.plain_credential(&msg.user) {
                        Some((hash, cred)) => cred.verify_password(hash, &msg.password),
                        None => {
                            // The same work for an unknown user, so timing does not tell.
                            let _ = sec.decoy.verify_password(scram::ScramHash::Sha512, &msg.password);
                            false
                        }
                    }
                })
                .await
                .unwrap_or(false);
                if ok {
                    Ok(Token::Complete(Vec::new(), user))
                } else {
                    Err(fail(Some(&user), "wrong password or unknown user".into()))
                }
            }
            Mechanism::Scram(hash) => match scram {
                None => {
                    let first = scram::parse_client_first(token).map_err(|e| fail(None, e.to_string()))?;
                    let user = first.user.clone();
                    let sec = Arc::clone(&security);
                    let credential =
                        tokio::task::spawn_blocking(move || sec.users.current().credential(&user, hash).cloned())
                            .await
                            .unwrap_or(None);
                    let mut server = ScramServer::new(hash);
                    let user = first.user.clone();
                    let step = server
                        .first(first, credential, &security.secret)
                        .map_err(|e| fail(Some(&user), e.to_string()))?;
                    *scram = Some(server);
                    Ok(Token::Continue(step.server_first))
                }
                Some(server) => {
                    let user = server.user().unwrap_or_default().to_string();
                    match server.finish(token) {
                        Ok(reply) => Ok(Token::Complete(reply, user)),
                        Err(e) => Err(fail(Some(&user), e.to_string())),
                    }
                }
            },
        }
    }
}

fn decode_header(
    frame: &mut Bytes,
    client_host: &str,
    listener: usize,
) -> Result<(RequestContext, i16), ConnectionError> {
    let (key, version) = dispatch::peek_key(frame)?;
    let spec = dispatch::spec(key).ok_or(ConnectionError::UnknownApiKey(key as i16))?;
    if version < spec.min || version > spec.max {
        return Err(ConnectionError::UnsupportedVersion {
            api: format!("{key:?}"),
            version,
            min: spec.min,
            max: spec.max,
        });
    }
    let ctx = dispatch::decode_header(frame, key, version, client_host, listener)?;
    Ok((ctx, version))
}

fn bad_body(api: &str, version: i16, e: impl std::fmt::Display) -> ConnectionError {
    ConnectionError::BadBody {
        api: api.into(),
        version,
        reason: e.to_string(),
    }
}
