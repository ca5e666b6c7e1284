//! Build script: gives the Windows binary its icon resource. Other
//! platforms have nothing to do here (the Linux and macOS icons ship in the
//! packages, see packaging/).

fn main() {
    println!("cargo:rerun-if-changed=icons/switchyard.ico");
    #[cfg(windows)]
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("windows") {
        let mut resource = winresource::WindowsResource::new();
        resource.set_icon("icons/switchyard.ico");
        if let Err(err) = resource.compile() {
            println!("cargo:warning=the Windows icon resource was not embedded: {err}");
        }
    }
}
