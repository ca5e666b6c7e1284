//! The local dashboard at `/ui`: static files built into the binary (no
//! CDN, nothing fetched from elsewhere). The page holds no data; it asks for
//! the gateway key once, keeps it in the tab's session storage, and reads
//! everything through the admin API, which the key protects.

use bytes::Bytes;
use http::{HeaderValue, header};
use warp::Filter;
use warp::reply::Response;

const INDEX: &str = include_str!("ui/index.html");
const APP: &str = include_str!("ui/app.js");
const STYLE: &str = include_str!("ui/style.css");

fn asset(body: &'static str, content_type: &'static str) -> Response {
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

/// `GET /ui`, `/ui/app.js`, `/ui/style.css`.
pub fn routes() -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let index = warp::path!("ui")
        .or(warp::path!("ui" / ..).and(warp::path::end()))
        .unify()
        .map(|| asset(INDEX, "text/html; charset=utf-8"));
    let app = warp::path!("ui" / "app.js").map(|| asset(APP, "text/javascript; charset=utf-8"));
    let style = warp::path!("ui" / "style.css").map(|| asset(STYLE, "text/css; charset=utf-8"));
    warp::get().and(index.or(app).unify().or(style).unify())
}
