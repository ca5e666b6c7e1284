//! `GET /v1/models`, `/v1/models/{id}`, `/v1beta/models` and
//! `/v1beta/models/{name}`: the served models (`catalog::served`) in the
//! client's own shape. On `/v1/models...` the shape follows the client:
//! Anthropic's when it sends `anthropic-version`, Gemini's when its key
//! comes in a Google form (`x-goog-api-key`, `?key=`: google-genai's API
//! version v1 uses these paths), else OpenAI's. An unknown id is a 404 in
//! that shape.

use http::StatusCode;
use warp::reply::Response;

use super::guidance;
use super::reply::{error_response, json_value};
use super::routes::RequestHead;
use super::state::Shared;
use crate::catalog::shapes;
use crate::keys::ClientKey;
use crate::protocol::{ApiError, ErrorKind, Protocol};

/// The shape of a `GET /v1/models...` answer (and of its errors).
pub fn protocol(head: &RequestHead) -> Protocol {
    if head.query_param("key").is_some() {
        return Protocol::Gemini;
    }
    guidance::guess(&head.path, &head.headers)
}

/// The list in `protocol`'s shape, paged as that protocol pages; for a
/// client key, only the models it may use.
pub fn list(shared: &Shared, head: &RequestHead, protocol: Protocol, key: Option<&ClientKey>) -> Response {
    let models = shared.relay.served_models(key);
    let param = |name: &str| head.query_param(name);
    let body = match protocol {
        Protocol::Anthropic => shapes::anthropic_list(
            &models,
            param("limit").as_deref(),
            param("after_id").as_deref(),
            param("before_id").as_deref(),
        ),
        Protocol::Gemini => shapes::gemini_list(&models, param("pageSize").as_deref(), param("pageToken").as_deref()),
        _ => shapes::openai_list(&models),
    };
    json_value(StatusCode::OK, body)
}

/// One model in `protocol`'s shape, or that protocol's 404 (also for a
/// model the client key may not use).
pub fn one(shared: &Shared, protocol: Protocol, id: &str, key: Option<&ClientKey>) -> Response {
    let Some(model) = shared.relay.served_model(id, key) else {
        return not_found(protocol, id);
    };
    let body = match protocol {
        Protocol::Anthropic => shapes::anthropic_model(&model),
        Protocol::Gemini => shapes::gemini_model(&model),
        _ => shapes::openai_model(&model),
    };
    json_value(StatusCode::OK, body)
}

fn not_found(protocol: Protocol, id: &str) -> Response {
    // The id is the client's own text: quoted, never trusted as a path.
    let shown: String = id.chars().filter(|c| !c.is_control()).take(200).collect();
    let message = match protocol {
        Protocol::Gemini => format!(
            "models/{shown} is not found: no account lists it and no alias names it. GET /v1beta/models lists the models."
        ),
        _ => format!(
            "The model `{shown}` does not exist: no account lists it and no alias names it. GET /v1/models lists the models."
        ),
    };
    error_response(protocol, &ApiError::new(ErrorKind::NotFound, message))
}
