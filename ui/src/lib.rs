//! The web front end, embedded in the binary: `router()` serves it at `/`.

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use include_dir::{Dir, include_dir};

static STATIC: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/static");

/// Strict policy: only our own scripts, styles and API.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn file(path: &str) -> Response {
    match STATIC.get_file(path) {
        Some(f) => {
            let mime = mime_guess::from_path(path).first_or_octet_stream();
            (
                [
                    (header::CONTENT_TYPE, mime.essence_str().to_string()),
                    (header::CONTENT_SECURITY_POLICY, CSP.to_string()),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
                    (header::CACHE_CONTROL, "no-cache".to_string()),
                ],
                f.contents(),
            )
                .into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Routes for the pages and their assets. Any state type works: the UI needs none.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { file("index.html") }))
        .route("/assets/{*path}", get(|Path(path): Path<String>| async move { file(&format!("assets/{path}")) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_its_assets_are_embedded() {
        let index = STATIC.get_file("index.html").expect("index.html is embedded");
        let html = std::str::from_utf8(index.contents()).unwrap();
        for asset in ["assets/app.js", "assets/app.css"] {
            assert!(html.contains(&format!("/{asset}")), "index.html links {asset}");
            assert!(STATIC.get_file(asset).is_some(), "{asset} is embedded");
        }
        assert_eq!(file("../Cargo.toml").status(), StatusCode::NOT_FOUND);
    }
}
