//! The tray icons, drawn for this project (`icons/src/*.svg`, rendered by
//! `icons/render.sh`) and built into the binary so the tray needs no
//! installed files.

use super::model;

/// The PNG for a state: 64 px, which panels scale down (and HiDPI panels use whole).
fn png(kind: model::Icon) -> &'static [u8] {
    match kind {
        model::Icon::Running => include_bytes!("../../icons/tray/running-64.png"),
        model::Icon::Stopped => include_bytes!("../../icons/tray/stopped-64.png"),
        model::Icon::Error => include_bytes!("../../icons/tray/error-64.png"),
    }
}

/// Decodes a PNG into RGBA pixels: `(pixels, width, height)`.
fn rgba(bytes: &[u8]) -> Result<(Vec<u8>, u32, u32), String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|err| err.to_string())?;
    let size = reader.output_buffer_size().ok_or("the icon is too large")?;
    let mut buffer = vec![0; size];
    let info = reader.next_frame(&mut buffer).map_err(|err| err.to_string())?;
    buffer.truncate(info.buffer_size());
    let pixels = match info.color_type {
        png::ColorType::Rgba => buffer,
        png::ColorType::Rgb => buffer.chunks(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect(),
        other => return Err(format!("unexpected icon colour type {other:?}")),
    };
    Ok((pixels, info.width, info.height))
}

/// The tray icon for a state.
pub fn icon(kind: model::Icon) -> Result<tray_icon::Icon, String> {
    let (pixels, width, height) = rgba(png(kind))?;
    tray_icon::Icon::from_rgba(pixels, width, height).map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_a_distinct_square_rgba_icon() {
        let mut seen = Vec::new();
        for kind in [model::Icon::Running, model::Icon::Stopped, model::Icon::Error] {
            let (pixels, width, height) = rgba(png(kind)).unwrap();
            assert_eq!((width, height), (64, 64));
            assert_eq!(pixels.len(), 64 * 64 * 4);
            assert!(
                pixels.chunks(4).any(|p| p[3] == 0),
                "{kind:?}: the corners are transparent"
            );
            assert!(!seen.contains(&pixels), "{kind:?} looks like another state");
            seen.push(pixels);
            icon(kind).unwrap();
        }
    }
}
