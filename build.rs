//! Build script: gives the Windows binary its icon resource. Other
//! platforms have nothing to do here (the Linux and macOS icons ship in the
//! packages, see packaging/).
//!
//! The target is read from `CARGO_CFG_TARGET_OS`, not `cfg(windows)`: a build
//! script is compiled for the build host, so `cfg(windows)` would leave a
//! cross build from Linux (mingw's `windres`, scripts/build-windows) without
//! its icon.

fn main() {
    println!("cargo:rerun-if-changed=icons/switchyard.ico");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("windows") {
        let mut resource = winresource::WindowsResource::new();
        resource.set_icon("icons/switchyard.ico");
        if let Err(err) = resource.compile() {
            // A Windows binary without its icon is a broken artifact.
            panic!("the Windows icon resource could not be embedded: {err}");
        }
    }
}
