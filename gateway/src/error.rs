//! What the gateway answers when it does not proxy: fixed statuses and short fixed bodies.
//!
//! Bodies never carry internal error text or the list of cooperatives; the detailed cause is
//! logged where the refusal is decided.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use thiserror::Error;

use crate::proxy::GatewayBody;

/// A request the gateway answers itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotFound,
    BadPath,
    RateLimited,
    BodyTooLarge,
    /// The node did not become ready before the hold deadline.
    NotReady {
        retry_after_secs: u64,
    },
    UpstreamUnavailable,
    UpstreamTimeout,
}

impl Refusal {
    pub fn status(self) -> StatusCode {
        match self {
            Refusal::NotFound => StatusCode::NOT_FOUND,
            Refusal::BadPath => StatusCode::BAD_REQUEST,
            Refusal::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Refusal::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::NotReady { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::UpstreamUnavailable => StatusCode::BAD_GATEWAY,
            Refusal::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    pub fn body(self) -> &'static str {
        match self {
            Refusal::NotFound => "not found\n",
            Refusal::BadPath => "bad request path\n",
            Refusal::RateLimited => "rate limit exceeded, retry later\n",
            Refusal::BodyTooLarge => "request body too large\n",
            Refusal::NotReady { .. } => "service is starting, retry later\n",
            Refusal::UpstreamUnavailable => "upstream unavailable\n",
            Refusal::UpstreamTimeout => "upstream timed out\n",
        }
    }

    pub fn response(self) -> Response<GatewayBody> {
        let mut res = text_response(self.status(), self.body());
        let retry_after = match self {
            Refusal::RateLimited => Some(1),
            Refusal::NotReady { retry_after_secs } => Some(retry_after_secs.max(1)),
            _ => None,
        };
        if let Some(secs) = retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

/// Why forwarding to the tenant node failed (logged; mapped to a `Refusal` for the client).
#[derive(Debug, Error)]
pub enum ForwardError {
    #[error("upstream did not answer within {0:?}")]
    Timeout(std::time::Duration),
    #[error("request body exceeded the limit")]
    BodyTooLarge,
    #[error("upstream request failed: {0}")]
    Upstream(#[source] crate::pool::PoolError),
    #[error("invalid upstream request: {0}")]
    BadRequest(#[source] http::Error),
}

impl ForwardError {
    pub fn refusal(&self) -> Refusal {
        match self {
            ForwardError::Timeout(_) => Refusal::UpstreamTimeout,
            ForwardError::BodyTooLarge => Refusal::BodyTooLarge,
            ForwardError::Upstream(_) | ForwardError::BadRequest(_) => Refusal::UpstreamUnavailable,
        }
    }
}

/// A `text/plain` response with a static body.
pub fn text_response(status: StatusCode, body: &'static str) -> Response<GatewayBody> {
    let mut res = Response::new(
        Full::new(Bytes::from_static(body.as_bytes()))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}
