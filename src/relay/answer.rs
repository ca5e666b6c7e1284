//! What the relay answers a call with, as plain data: the HTTP layer
//! (`gateway/reply.rs`) turns it into a response.

use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use tokio::sync::mpsc;

use crate::protocol::{ApiError, Protocol};

/// The relay's answer to one call.
#[derive(Debug)]
pub enum Answer {
    /// A complete JSON body: an answer, a count or an error.
    Json {
        /// The HTTP status.
        status: StatusCode,
        /// The serialized body.
        body: Bytes,
        /// How long the client should wait before trying again (a rate
        /// limit), advertised as `Retry-After`.
        retry_after: Option<Duration>,
        /// The upstream model that served (`x-switchyard-served-model`).
        served_model: Option<String>,
    },
    /// A streamed answer: the pump writes its chunks into `chunks`.
    Stream {
        /// The HTTP status.
        status: StatusCode,
        /// `text/event-stream`, or `application/json` for a Gemini client
        /// that reads one JSON array.
        content_type: &'static str,
        /// The chunks, in order; the stream ends when the pump drops its end.
        chunks: mpsc::Receiver<Bytes>,
        /// The upstream model that serves (`x-switchyard-served-model`).
        served_model: Option<String>,
    },
}

impl Answer {
    /// A complete JSON answer with status 200.
    pub fn ok(body: Bytes) -> Answer {
        Answer::Json {
            status: StatusCode::OK,
            body,
            retry_after: None,
            served_model: None,
        }
    }

    /// An error in `protocol`'s shape.
    pub fn error(protocol: Protocol, error: &ApiError) -> Answer {
        Answer::Json {
            status: StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body: protocol.error_bytes(error),
            retry_after: None,
            served_model: None,
        }
    }

    /// The same answer, naming `model` as the upstream model that served.
    pub fn served_by(mut self, model: &str) -> Answer {
        match &mut self {
            Answer::Json { served_model, .. } | Answer::Stream { served_model, .. } => {
                *served_model = Some(model.to_string());
            }
        }
        self
    }

    /// The same answer, advertising `wait` when it is a JSON answer.
    pub fn with_retry_after(mut self, wait: Option<Duration>) -> Answer {
        if let Answer::Json { retry_after, .. } = &mut self {
            *retry_after = wait;
        }
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Answer::Json { status, .. } | Answer::Stream { status, .. } => *status,
        }
    }
}
