//! A complete answer and how it is written: one body, or a stream whose
//! events are spaced by the chunk delay.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use http::{Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;

/// The body of every answer the mock writes.
pub(crate) type Body = UnsyncBoxBody<Bytes, Infallible>;
/// A complete answer: status, content type and the body in the pieces it is
/// written in (one piece unless streamed).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) content_type: &'static str,
    pub(crate) chunks: Vec<Bytes>,
}

impl Reply {
    pub(crate) fn json(status: StatusCode, body: String) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            chunks: vec![Bytes::from(body)],
        }
    }

    pub(crate) fn stream(content_type: &'static str, chunks: Vec<String>) -> Reply {
        Reply {
            status: StatusCode::OK,
            content_type,
            chunks: chunks.into_iter().map(Bytes::from).collect(),
        }
    }

    /// The body as one string (tests).
    #[cfg(test)]
    pub(crate) fn text(&self) -> String {
        self.chunks.iter().map(|c| String::from_utf8_lossy(c)).collect()
    }

    pub(crate) fn into_response(self, chunk_delay: Duration) -> Response<Body> {
        let body: Body = if self.chunks.len() == 1 {
            Full::new(self.chunks.into_iter().next().unwrap_or_default()).boxed_unsync()
        } else if chunk_delay.is_zero() {
            let frames = self.chunks.into_iter().map(|chunk| Ok(Frame::data(chunk)));
            StreamBody::new(stream::iter(frames)).boxed_unsync()
        } else {
            let frames = stream::unfold((self.chunks.into_iter(), true), move |(mut chunks, first)| async move {
                let chunk = chunks.next()?;
                if !first {
                    tokio::time::sleep(chunk_delay).await;
                }
                Some((Ok(Frame::data(chunk)), (chunks, false)))
            });
            StreamBody::new(frames).boxed_unsync()
        };
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, http::HeaderValue::from_static(self.content_type));
        if self.content_type == "text/event-stream" {
            headers.insert(header::CACHE_CONTROL, http::HeaderValue::from_static("no-cache"));
        }
        response
    }
}
