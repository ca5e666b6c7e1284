//! Answers as warp responses: the relay's [`Answer`] (plain data) and the
//! gateway's own JSON and error answers. The one place that builds the
//! response of a JSON body or a stream.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderValue, StatusCode, header};
use warp::reply::{Reply, Response};

use crate::protocol::{ApiError, Protocol};
use crate::relay::Answer;

/// The response for the relay's `answer`.
pub fn answer(answer: Answer) -> Response {
    let (mut response, served_model) = match answer {
        Answer::Json {
            status,
            body,
            retry_after,
            served_model,
        } => {
            let mut response = json_response(status, body);
            if let Some(wait) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs(wait)));
            }
            (response, served_model)
        }
        Answer::Stream {
            status,
            content_type,
            chunks,
            served_model,
        } => (stream_response(status, content_type, chunks), served_model),
    };
    // For aliases and fallbacks alike: the body keeps the name the client
    // asked for, the header names what served.
    if let Some(value) = served_model.and_then(|model| HeaderValue::from_str(&model).ok()) {
        response.headers_mut().insert(SERVED_MODEL_HEADER, value);
    }
    response
}

/// The response header naming the upstream model that served a call.
pub const SERVED_MODEL_HEADER: &str = "x-switchyard-served-model";

/// `Retry-After` in whole seconds, rounded up, at least 1.
fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

/// A streamed body, each chunk sent as the relay's pump writes it.
fn stream_response(
    status: StatusCode,
    content_type: &'static str,
    chunks: tokio::sync::mpsc::Receiver<Bytes>,
) -> Response {
    let body = tokio_stream::wrappers::ReceiverStream::new(chunks).map(Ok::<Bytes, Infallible>);
    let mut response = warp::reply::stream(body).into_response();
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tell reverse proxies in front of the gateway not to buffer the stream.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// A JSON response from serialized bytes.
pub fn json_response(status: StatusCode, body: Bytes) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A JSON response from a value.
pub fn json_value(status: StatusCode, value: serde_json::Value) -> Response {
    json_response(status, crate::protocol::json_bytes(&value))
}

/// An error in `protocol`'s shape.
pub fn error_response(protocol: Protocol, error: &ApiError) -> Response {
    answer(Answer::error(protocol, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(200)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
        assert_eq!(retry_after_secs(Duration::from_millis(3001)), 4);
    }
}
