//! The bearer token: read from an environment variable, compared in constant time, and the
//! policy for running without one.

use std::net::SocketAddr;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::ServeError;

/// The environment variable holding the API token.
pub const TOKEN_ENV: &str = "PROFILEC_API_TOKEN";

#[derive(Clone)]
pub enum Auth {
    /// `Authorization: Bearer <token>` required on every request.
    Token(String),
    /// `--no-auth` on a loopback address.
    Open,
}

/// The token from `token` (the environment variable's value) or `--no-auth`: without a token
/// the server starts only on a loopback address and only when told `--no-auth`.
pub fn auth_policy(
    bind: SocketAddr,
    token: Option<String>,
    no_auth: bool,
) -> Result<Auth, ServeError> {
    match (token.filter(|t| !t.is_empty()), no_auth) {
        (Some(_), true) => Err(ServeError::TokenAndNoAuth),
        (Some(t), false) => Ok(Auth::Token(t)),
        (None, true) if bind.ip().is_loopback() => Ok(Auth::Open),
        (None, true) => Err(ServeError::NoAuthOffLoopback { bind }),
        (None, false) => Err(ServeError::NoToken),
    }
}

/// Whether `header` is `Bearer <token>`: the comparison takes the same time wherever the first
/// difference is (subtle's `ConstantTimeEq`); only the length can be told apart.
pub fn token_matches(header: Option<&HeaderValue>, token: &str) -> bool {
    let Some(given) = header
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
    else {
        return false;
    };
    given.as_bytes().ct_eq(token.as_bytes()).into()
}

/// 401 with no body: nothing about why tells a prober anything.
pub async fn require_token(State(auth): State<Auth>, request: Request, next: Next) -> Response {
    match &auth {
        Auth::Open => next.run(request).await,
        Auth::Token(t) if token_matches(request.headers().get(header::AUTHORIZATION), t) => {
            next.run(request).await
        }
        Auth::Token(_) => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
        )
            .into_response(),
    }
}
