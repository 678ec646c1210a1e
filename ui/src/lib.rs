//! The web front end, embedded in the binary: `router()` serves it at `/`.

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use include_dir::{Dir, include_dir};

static STATIC: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/static");

/// Files of the packages from the npm registry (installed by build.rs), served under
/// `assets/vendor/`: uPlot for charts, Leaflet for maps.
const VENDOR: &[(&str, &[u8])] = &[
    ("assets/vendor/uplot.js", include_bytes!(concat!(env!("OUT_DIR"), "/npm/node_modules/uplot/dist/uPlot.esm.js"))),
    ("assets/vendor/uplot.css", include_bytes!(concat!(env!("OUT_DIR"), "/npm/node_modules/uplot/dist/uPlot.min.css"))),
    ("assets/vendor/uplot.LICENSE", include_bytes!(concat!(env!("OUT_DIR"), "/npm/node_modules/uplot/LICENSE"))),
    (
        "assets/vendor/leaflet.js",
        include_bytes!(concat!(env!("OUT_DIR"), "/npm/node_modules/leaflet/dist/leaflet-src.esm.js")),
    ),
    (
        "assets/vendor/leaflet.css",
        include_bytes!(concat!(env!("OUT_DIR"), "/npm/node_modules/leaflet/dist/leaflet.css")),
    ),
    ("assets/vendor/leaflet.LICENSE", include_bytes!(concat!(env!("OUT_DIR"), "/npm/node_modules/leaflet/LICENSE"))),
];

/// Strict policy: only our own scripts, styles and API.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Reads a page or asset: from `Q10_UI_DIR` when set (for working on the front end without
/// rebuilding), otherwise from the copy embedded at build time.
fn contents(path: &str) -> Option<Vec<u8>> {
    if path.split('/').any(|part| part.is_empty() || part == ".." || part.starts_with('.')) {
        return None;
    }
    if let Some((_, body)) = VENDOR.iter().find(|(name, _)| *name == path) {
        return Some(body.to_vec());
    }
    match std::env::var_os("Q10_UI_DIR") {
        Some(dir) => std::fs::read(std::path::Path::new(&dir).join(path)).ok(),
        None => STATIC.get_file(path).map(|f| f.contents().to_vec()),
    }
}

fn file(path: &str) -> Response {
    match contents(path) {
        Some(body) => {
            let mime = mime_guess::from_path(path).first_or_octet_stream();
            (
                [
                    (header::CONTENT_TYPE, mime.essence_str().to_string()),
                    (header::CONTENT_SECURITY_POLICY, CSP.to_string()),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
                    (header::CACHE_CONTROL, "no-cache".to_string()),
                ],
                body,
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
        .route("/room", get(|| async { file("room.html") }))
        .route("/report", get(|| async { file("report.html") }))
        .route("/track", get(|| async { file("track.html") }))
        .route("/complaints", get(|| async { file("complaints.html") }))
        .route("/apply", get(|| async { file("apply.html") }))
        .route("/dossier", get(|| async { file("dossier.html") }))
        .route("/dossiers", get(|| async { file("dossiers.html") }))
        .route("/pay", get(|| async { file("pay.html") }))
        .route("/receipt", get(|| async { file("receipt.html") }))
        .route("/cashier", get(|| async { file("cashier.html") }))
        .route("/registry", get(|| async { file("registry.html") }))
        .route("/extract", get(|| async { file("extract.html") }))
        .route("/telehealth", get(|| async { file("telehealth.html") }))
        .route("/visit", get(|| async { file("visit.html") }))
        .route("/console", get(|| async { file("console.html") }))
        .route("/dashboard", get(|| async { file("dashboard.html") }))
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

    #[test]
    fn every_page_and_the_script_it_loads_are_embedded() {
        let pages = [
            "report.html",
            "track.html",
            "complaints.html",
            "apply.html",
            "dossier.html",
            "dossiers.html",
            "pay.html",
            "receipt.html",
            "cashier.html",
            "registry.html",
            "extract.html",
            "telehealth.html",
            "visit.html",
            "console.html",
            "dashboard.html",
        ];
        for page in pages {
            let html = std::str::from_utf8(STATIC.get_file(page).expect("the page is embedded").contents()).unwrap();
            let script = html
                .split("<script type=\"module\" src=\"/")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .expect("the page loads a module");
            assert!(STATIC.get_file(script).is_some(), "{page} loads {script}, which is embedded");
            // And every module it imports, and theirs in turn.
            let mut todo = vec![script.to_string()];
            let mut seen = std::collections::HashSet::new();
            while let Some(module) = todo.pop() {
                if !seen.insert(module.clone()) {
                    continue;
                }
                let embedded = contents(&module).unwrap_or_else(|| panic!("{page} needs {module}, which is embedded"));
                // The packages' own modules are served as npm ships them.
                if module.starts_with("assets/vendor/") {
                    continue;
                }
                let source = std::str::from_utf8(&embedded).unwrap();
                let dir = module.rsplit_once('/').map_or("", |(dir, _)| dir);
                for rest in source.split("from \"").skip(1) {
                    let target = rest.split('"').next().unwrap_or_default();
                    let path =
                        resolve(dir, target).unwrap_or_else(|| panic!("{module} imports {target}, outside the assets"));
                    todo.push(path);
                }
            }
        }
    }

    /// A relative import (`./x.js`, `../x.js`) from a module in `dir`, as a path in `static`.
    fn resolve(dir: &str, target: &str) -> Option<String> {
        if !target.starts_with("./") && !target.starts_with("../") {
            return None;
        }
        let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
        for part in target.split('/') {
            match part {
                "." => {}
                ".." => {
                    parts.pop()?;
                }
                name => parts.push(name),
            }
        }
        Some(parts.join("/"))
    }
}
