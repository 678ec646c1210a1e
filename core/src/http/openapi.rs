//! The OpenAPI 3.1 document, generated from the handlers, with each operation's access rule added
//! from the route table; and a plain HTML reference page made from it.

use axum::http::Method;
use utoipa::OpenApi;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::{Operation, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, Ref, Required, ResponseBuilder};

use super::access::{Access, Endpoint};
use super::{
    audit_log, auth, cameras, complaints, dashboard, dossiers, fhir, jurisdictions, kiosks, meetings, monitor, open311,
    payments, queue, registry, simulator, system, telehealth, users,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Q10 core API",
        description = "Civic services of the Q10 platform. Every operation \
        says who may call it (x-q10-access). Errors are RFC 9457 problem+json."
    ),
    paths(
        system::healthz,
        system::readyz,
        system::metrics,
        system::openapi_json,
        system::api_docs,
        auth::login,
        auth::token,
        auth::logout,
        auth::me,
        auth::csrf,
        jurisdictions::list,
        jurisdictions::boundaries,
        jurisdictions::one,
        jurisdictions::import,
        users::list,
        users::create,
        users::disable,
        users::staff,
        audit_log::list,
        audit_log::verify,
        meetings::list,
        meetings::create,
        meetings::one,
        meetings::join,
        meetings::documents,
        meetings::upload,
        meetings::document,
        meetings::attendance,
        meetings::attendance_csv,
        complaints::categories,
        complaints::submit,
        complaints::nearby,
        complaints::track,
        complaints::reopen,
        complaints::rate,
        complaints::photo_file,
        complaints::queue,
        complaints::one,
        complaints::act,
        complaints::contact,
        dashboard::kpis,
        dashboard::scorecards,
        dashboard::scorecards_csv,
        dashboard::trend,
        dashboard::traffic,
        dashboard::complaints_geojson,
        dashboard::events,
        dossiers::procedures,
        dossiers::holidays,
        dossiers::put_holiday,
        dossiers::delete_holiday,
        dossiers::apply,
        dossiers::track,
        dossiers::supplement,
        dossiers::rate,
        dossiers::queue,
        dossiers::one,
        dossiers::act,
        dossiers::document,
        payments::create,
        payments::list,
        payments::one,
        payments::vnpay_start,
        payments::vietqr,
        payments::cancel,
        payments::cash,
        payments::refund,
        payments::receipt,
        payments::vnpay_ipn,
        payments::vnpay_return,
        payments::bank_notify,
        simulator::vnpay_page,
        simulator::vnpay_decide,
        simulator::vnpay_api,
        simulator::bank_page,
        simulator::bank_transfer,
        registry::books,
        registry::open_book,
        registry::import,
        registry::search,
        registry::create,
        registry::one,
        registry::act,
        registry::issue,
        registry::extract_one,
        registry::verify,
        telehealth::doctors,
        telehealth::slots,
        telehealth::publish,
        telehealth::block,
        telehealth::unblock,
        telehealth::appointments,
        telehealth::book,
        telehealth::one,
        telehealth::reschedule,
        telehealth::cancel,
        telehealth::consent,
        telehealth::arrive,
        telehealth::admit,
        telehealth::participant,
        telehealth::note,
        telehealth::noshow,
        telehealth::join,
        fhir::metadata,
        fhir::schedules,
        fhir::schedule,
        fhir::slots,
        fhir::slot,
        fhir::create,
        fhir::read,
        fhir::update,
        monitor::sensors,
        monitor::register,
        monitor::ingest,
        monitor::readings,
        monitor::alerts,
        monitor::act,
        queue::take,
        queue::today,
        queue::next,
        kiosks::heartbeat,
        kiosks::screenshot_put,
        kiosks::call,
        kiosks::list,
        kiosks::configure,
        kiosks::screenshot_request,
        kiosks::screenshot_get,
        kiosks::calls,
        kiosks::one_call,
        kiosks::answer,
        kiosks::end,
        cameras::cameras,
        cameras::register,
        cameras::one,
        cameras::change,
        cameras::watch,
        cameras::counts,
        cameras::area_counts,
        cameras::segments,
        cameras::play,
    ),
    components(schemas(q10_core_api::Problem, q10_core_api::Role, q10_core_api::Grant, q10_core_api::AccountKind))
)]
struct ApiDoc;

const PROBLEM: &str = "application/problem+json";

fn operation_mut<'a>(doc: &'a mut utoipa::openapi::OpenApi, method: &Method, path: &str) -> Option<&'a mut Operation> {
    let item = doc.paths.paths.get_mut(path)?;
    match *method {
        Method::GET => item.get.as_mut(),
        Method::POST => item.post.as_mut(),
        Method::PUT => item.put.as_mut(),
        Method::DELETE => item.delete.as_mut(),
        Method::PATCH => item.patch.as_mut(),
        _ => None,
    }
}

/// The document for `endpoints`, each operation marked with who may call it.
pub fn document(endpoints: &[Endpoint]) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    let components = doc.components.get_or_insert_with(Default::default);
    components
        .add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    components.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(q10_core_api::SESSION_COOKIE))),
    );
    for (method, path, summary) in open311::DESCRIBED {
        let method = match *method {
            "POST" => utoipa::openapi::HttpMethod::Post,
            _ => utoipa::openapi::HttpMethod::Get,
        };
        let mut op = OperationBuilder::new()
            .summary(Some(*summary))
            .tag("open311")
            .response("200", ResponseBuilder::new().description("the answer, in the format the path names"))
            .response("400", ResponseBuilder::new().description("Open311 errors: [{code, description}]"))
            .response("404", ResponseBuilder::new().description("no such resource"));
        if path.contains("{file}") {
            op = op.parameter(
                ParameterBuilder::new()
                    .name("file")
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .description(Some("the identifier and the format: NAME.json or NAME.xml"))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
            );
        }
        if method == utoipa::openapi::HttpMethod::Post {
            op = op
                .response("201", ResponseBuilder::new().description("filed"))
                .response("403", ResponseBuilder::new().description("a missing, wrong or revoked api_key"));
        }
        doc.paths.add_path_operation(*path, vec![method], op.build());
    }
    for e in endpoints {
        let Some(op) = operation_mut(&mut doc, &e.method, e.path) else {
            continue;
        };
        let (rule, roles): (&str, Vec<&str>) = match e.access {
            Access::Public => ("public", vec![]),
            Access::Authenticated => ("authenticated", vec![]),
            Access::Roles(r) => ("roles", r.iter().map(|r| r.as_str()).collect()),
        };
        op.security = Some(match e.access {
            Access::Public => vec![SecurityRequirement::default()],
            _ => vec![
                SecurityRequirement::new("bearer", roles.clone()),
                SecurityRequirement::new("session", roles.clone()),
            ],
        });
        let ext =
            ExtensionsBuilder::new().add("x-q10-access", serde_json::json!({ "rule": rule, "roles": roles })).build();
        op.extensions.get_or_insert_with(Default::default).merge(ext);
        if e.access != Access::Public {
            let problem = |what: &str| {
                ResponseBuilder::new()
                    .description(what)
                    .content(PROBLEM, ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
                    .build()
            };
            let r = &mut op.responses.responses;
            r.entry("401".into()).or_insert_with(|| problem("not logged in").into());
            r.entry("403".into())
                .or_insert_with(|| problem("the caller's roles or jurisdiction do not allow it").into());
        }
        // Unique ids: the method and the path.
        let slug: String = e.path.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect::<String>();
        op.operation_id = Some(format!("{}{}", e.method.as_str().to_lowercase(), slug.trim_end_matches('_')));
    }
    for item in doc.paths.paths.values_mut() {
        for op in
            [&mut item.get, &mut item.post, &mut item.put, &mut item.delete, &mut item.patch].into_iter().flatten()
        {
            for (status, response) in op.responses.responses.iter_mut() {
                let utoipa::openapi::RefOr::T(response) = response else { continue };
                if response.description.is_empty() {
                    let code = status.parse::<u16>().ok().and_then(|c| axum::http::StatusCode::from_u16(c).ok());
                    response.description = code.and_then(|c| c.canonical_reason()).unwrap_or("the answer").to_string();
                }
                // Errors are served as problem+json.
                if status.starts_with('4') || status.starts_with('5') {
                    let content = std::mem::take(&mut response.content);
                    response.content = content
                        .into_iter()
                        .map(|(k, v)| (if k == "application/json" { PROBLEM.to_string() } else { k }, v))
                        .collect();
                }
            }
        }
    }
    doc
}

/// Every (method, path) the document describes.
pub fn documented(doc: &utoipa::openapi::OpenApi) -> Vec<(Method, String)> {
    let mut out = Vec::new();
    for (path, item) in &doc.paths.paths {
        let ops = [
            (Method::GET, &item.get),
            (Method::POST, &item.post),
            (Method::PUT, &item.put),
            (Method::DELETE, &item.delete),
            (Method::PATCH, &item.patch),
        ];
        for (m, op) in ops {
            if op.is_some() {
                out.push((m, path.clone()));
            }
        }
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn access_of(op: &Operation) -> String {
    let value = op.extensions.as_ref().and_then(|e| e.get("x-q10-access")).cloned().unwrap_or_default();
    match value["rule"].as_str() {
        Some("public") => "anyone".into(),
        Some("authenticated") => "any logged-in account".into(),
        Some("roles") => value["roles"]
            .as_array()
            .map(|r| r.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(", "))
            .unwrap_or_default(),
        _ => "unknown".into(),
    }
}

/// A reference page for people: every operation with its summary and who may call it.
pub fn reference_page(doc: &utoipa::openapi::OpenApi) -> String {
    let mut rows = String::new();
    let mut ops: Vec<_> = documented(doc);
    ops.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.as_str().cmp(b.0.as_str())));
    for (method, path) in ops {
        let item = &doc.paths.paths[&path];
        let op = match method {
            Method::GET => item.get.as_ref(),
            Method::POST => item.post.as_ref(),
            Method::PUT => item.put.as_ref(),
            Method::DELETE => item.delete.as_ref(),
            _ => item.patch.as_ref(),
        };
        let Some(op) = op else { continue };
        let summary = op.summary.clone().or_else(|| op.description.clone()).unwrap_or_default();
        let description = op.description.clone().unwrap_or_default();
        rows.push_str(&format!(
            "<tr><td><code class=\"m\">{}</code></td><td><code>{}</code></td><td>{}<div class=\"d\">{}</div></td><td>{}</td></tr>\n",
            method,
            escape(&path),
            escape(&summary),
            if description == summary { String::new() } else { escape(&description) },
            escape(&access_of(op)),
        ));
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Q10 API reference</title>\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<style>body{{font:16px/1.5 system-ui,sans-serif;margin:2rem;color:#111;background:#fff}}\
table{{border-collapse:collapse;width:100%}}th,td{{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #ccc;vertical-align:top}}\
code.m{{font-weight:bold}}.d{{color:#444;font-size:.9em}}</style></head><body>\
<h1>Q10 API reference</h1><p>Version {}. The machine-readable description is at \
<a href=\"/openapi.json\">/openapi.json</a> (OpenAPI 3.1). Errors are <code>application/problem+json</code> \
(RFC 9457). Log in with <code>POST /api/v1/auth/token</code> for a bearer token, or \
<code>POST /api/v1/auth/login</code> for a browser session (then send <code>X-CSRF-Token</code> on unsafe requests).</p>\
<table><thead><tr><th>Method</th><th>Path</th><th>What it does</th><th>Who may call it</th></tr></thead><tbody>\n{}</tbody></table></body></html>",
        escape(&doc.info.version),
        rows
    )
}
