//! The local dashboard at `/ui`: static files built into the binary (no
//! CDN, nothing fetched from elsewhere). The page holds no data; it asks for
//! the gateway key once, keeps it in the tab's session storage, and reads
//! everything through the admin API, which the key protects.

use bytes::Bytes;
use http::{HeaderValue, header};
use warp::reply::Response;

const INDEX: &str = include_str!("ui/index.html");
const APP: &str = include_str!("ui/app.js");
const STYLE: &str = include_str!("ui/style.css");

fn file(body: &'static str, content_type: &'static str) -> Response {
    let mut response = Response::new(Bytes::from_static(body.as_bytes()).into());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // The page only talks to this gateway and runs only its own script.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// A file of the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asset {
    /// `/ui`: the page.
    Index,
    /// `/ui/app.js`.
    App,
    /// `/ui/style.css`.
    Style,
}

/// The answer for `asset`.
pub fn serve(asset: Asset) -> Response {
    match asset {
        Asset::Index => file(INDEX, "text/html; charset=utf-8"),
        Asset::App => file(APP, "text/javascript; charset=utf-8"),
        Asset::Style => file(STYLE, "text/css; charset=utf-8"),
    }
}
