//! `data:` URLs (RFC 2397): `data:[<media type>][;<parameter>]*[;base64],<data>`.
//!
//! Clients send inline images and PDFs this way; upstreams take them as base64
//! data with a media type. Every codec reads them here, so that all agree on
//! what travels inline. The choices where RFC 2397 leaves room:
//!
//! - The scheme and the `base64` token are matched whatever their case, as
//!   browsers do.
//! - Parameters (`charset=utf-8`, `name=a.png`) are dropped: no upstream takes
//!   them in a media type.
//! - A missing media type reads as `application/octet-stream` (not RFC 2397's
//!   `text/plain`: what clients send without one is binary media).
//! - Only base64 data travels inline; percent-encoded text is not decoded.
//! - The data itself is not checked: the upstream judges it.

use super::model::Image;

/// The media type of a `data:` URL that names none.
const UNNAMED_MEDIA_TYPE: &str = "application/octet-stream";

/// A parsed `data:` URL, borrowing from the text it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataUrl<'a> {
    /// The media type without its parameters (`image/png`);
    /// `application/octet-stream` when the URL names none.
    pub media_type: &'a str,
    /// Whether the data is base64 (`;base64`); otherwise percent-encoded text.
    pub base64: bool,
    /// Everything after the first `,`, as written.
    pub data: &'a str,
}

/// Why a URL gives no inline data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DataUrlError {
    /// Another scheme (`https:`): a link the upstream fetches itself.
    #[error("not a `data:` URL")]
    NotDataUrl,
    /// `data:image/png;base64` with no `,` and so no data.
    #[error("a data URL needs a `,` before its data")]
    NoComma,
    /// Percent-encoded data, which no upstream takes inline.
    #[error("image data URLs must be base64 (`data:image/png;base64,...`)")]
    NotBase64,
}

impl<'a> DataUrl<'a> {
    /// Reads `url` as a `data:` URL.
    pub fn parse(url: &'a str) -> Result<DataUrl<'a>, DataUrlError> {
        let rest = url
            .get(..5)
            .filter(|scheme| scheme.eq_ignore_ascii_case("data:"))
            .map(|_| &url[5..])
            .ok_or(DataUrlError::NotDataUrl)?;
        let (header, data) = rest.split_once(',').ok_or(DataUrlError::NoComma)?;
        let (header, base64) = match header.rsplit_once(';') {
            Some((before, token)) if token.trim().eq_ignore_ascii_case("base64") => (before, true),
            _ => (header, false),
        };
        let media_type = header.split(';').next().unwrap_or_default().trim();
        Ok(DataUrl {
            media_type: if media_type.is_empty() {
                UNNAMED_MEDIA_TYPE
            } else {
                media_type
            },
            base64,
            data,
        })
    }

    /// The inline media this URL carries: base64 data only.
    pub fn into_image(self) -> Result<Image, DataUrlError> {
        if !self.base64 {
            return Err(DataUrlError::NotBase64);
        }
        Ok(Image::Base64 {
            media_type: self.media_type.to_owned(),
            data: self.data.to_owned(),
        })
    }
}

/// What an image URL from a client stands for: inline media for a base64
/// `data:` URL, a link the upstream fetches for any other scheme. A `data:`
/// URL without data, or with text data, is an error.
pub fn image_from_url(url: &str) -> Result<Image, DataUrlError> {
    match DataUrl::parse(url) {
        Err(DataUrlError::NotDataUrl) => Ok(Image::Url(url.to_owned())),
        parsed => parsed?.into_image(),
    }
}

/// `data:<media type>;base64,<data>`: inline media written as a URL.
pub fn base64_url(media_type: &str, data: &str) -> String {
    format!("data:{media_type};base64,{data}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(url: &str) -> Result<(&str, bool, &str), DataUrlError> {
        DataUrl::parse(url).map(|d| (d.media_type, d.base64, d.data))
    }

    #[test]
    fn base64_data_urls_give_media_type_and_data() {
        assert_eq!(
            parsed("data:image/webp;base64,UklGRg=="),
            Ok(("image/webp", true, "UklGRg=="))
        );
        assert_eq!(
            parsed("data:application/pdf;base64,JVBERi0="),
            Ok(("application/pdf", true, "JVBERi0="))
        );
        // Case does not matter for the scheme or the token; commas in the data stay.
        assert_eq!(parsed("DATA:image/png;BASE64,AA,BB"), Ok(("image/png", true, "AA,BB")));
        assert_eq!(parsed("data:image/png;base64,"), Ok(("image/png", true, "")));
    }

    #[test]
    fn text_data_urls_are_parsed_but_not_base64() {
        assert_eq!(parsed("data:text/plain,hello"), Ok(("text/plain", false, "hello")));
        assert_eq!(parsed("data:,A%20note"), Ok((UNNAMED_MEDIA_TYPE, false, "A%20note")));
        // `base64` must be the last token before the data.
        assert_eq!(parsed("data:image/png;base64;x=1,AA"), Ok(("image/png", false, "AA")));
        assert_eq!(image_from_url("data:text/plain,hello"), Err(DataUrlError::NotBase64));
    }

    #[test]
    fn parameters_are_dropped_from_the_media_type() {
        assert_eq!(
            parsed("data:image/png;name=a.png;base64,AA"),
            Ok(("image/png", true, "AA"))
        );
        assert_eq!(
            parsed("data:text/plain;charset=utf-8,hi"),
            Ok(("text/plain", false, "hi"))
        );
    }

    #[test]
    fn a_missing_media_type_is_octet_stream() {
        assert_eq!(parsed("data:;base64,AA"), Ok((UNNAMED_MEDIA_TYPE, true, "AA")));
        assert_eq!(
            parsed("data:;charset=utf-8;base64,AA"),
            Ok((UNNAMED_MEDIA_TYPE, true, "AA"))
        );
    }

    #[test]
    fn bad_input_says_what_is_wrong() {
        assert_eq!(parsed("https://example.com/a.png"), Err(DataUrlError::NotDataUrl));
        assert_eq!(parsed("data"), Err(DataUrlError::NotDataUrl));
        assert_eq!(parsed(""), Err(DataUrlError::NotDataUrl));
        // A multi-byte character where the scheme would end is no panic.
        assert_eq!(parsed("data\u{e9},x"), Err(DataUrlError::NotDataUrl));
        assert_eq!(parsed("data:image/png;base64"), Err(DataUrlError::NoComma));
        assert_eq!(image_from_url("data:image/png;base64"), Err(DataUrlError::NoComma));
    }

    #[test]
    fn image_urls_are_inline_media_or_links() {
        assert_eq!(
            image_from_url("data:image/png;base64,AAAA"),
            Ok(Image::Base64 {
                media_type: "image/png".into(),
                data: "AAAA".into()
            })
        );
        assert_eq!(
            image_from_url("https://example.com/a.png"),
            Ok(Image::Url("https://example.com/a.png".into()))
        );
    }

    #[test]
    fn base64_urls_read_back() {
        let url = base64_url("image/jpeg", "/9j/");
        assert_eq!(url, "data:image/jpeg;base64,/9j/");
        assert_eq!(parsed(&url), Ok(("image/jpeg", true, "/9j/")));
    }
}
