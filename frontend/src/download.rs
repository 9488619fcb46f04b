//! Saving bytes the app fetched as a file, for downloads that a plain
//! link cannot start (the dry run's CSV needs the customer file as a
//! `POST` body): a `Blob` behind an object URL, clicked through a
//! temporary `<a download>`, then released.

use wasm_bindgen::JsCast;

/// The file name of a `Content-Disposition: attachment; filename="…"`
/// header, if it names one.
pub fn attachment_name(header: &str) -> Option<String> {
    let (_, rest) = header.split_once("filename=")?;
    let name = rest.split(';').next()?.trim().trim_matches('"');
    (!name.is_empty() && !name.contains(['/', '\\'])).then(|| name.to_string())
}

/// Offer `bytes` as a download named `name` of type `mime`; `false` if
/// the browser refused a step.
pub fn save(name: &str, mime: &str, bytes: &[u8]) -> bool {
    let save = || -> Option<()> {
        let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
        let options = web_sys::BlobPropertyBag::new();
        options.set_type(mime);
        let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).ok()?;
        let url = web_sys::Url::create_object_url_with_blob(&blob).ok()?;
        let document = web_sys::window()?.document()?;
        let a: web_sys::HtmlAnchorElement = document.create_element("a").ok()?.dyn_into().ok()?;
        a.set_href(&url);
        a.set_download(name);
        a.click();
        // The click has handed the blob to the download; it may go.
        let _ = web_sys::Url::revoke_object_url(&url);
        Some(())
    };
    save().is_some()
}
